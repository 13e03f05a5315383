package ringbuf_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestDrainIntervalWhileOtherRingsWake: one ring's producer never wakes the
// consumer (BPF_RB_NO_WAKEUP) while another's wakes it all the time, so epoll
// never times out. DrainInterval must still bring the quiet ring's records
// within about an interval: the reader looks at every ring once per interval,
// not only when epoll reports nothing.
func TestDrainIntervalWhileOtherRingsWake(t *testing.T) {
	const interval = 100 * time.Millisecond
	busy := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput})
	quiet := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, Wakeup: producer.WakeupNever})
	c, err := ringbuf.NewMulti([]*ebpf.Map{busy.Map(), quiet.Map()}, ringbuf.Options{DrainInterval: interval})
	require.NoError(t, err)
	defer c.Close()

	var fromQuiet atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, func(r transport.Record) error {
			if r.Source == 1 {
				fromQuiet.Add(1)
			}
			return nil
		})
	}()
	stop := make(chan struct{})
	produced := produceFor(t, busy, stop) // wakes the consumer every millisecond
	time.Sleep(2 * interval)              // the consumer has looked at every ring by now
	require.NoError(t, quiet.Run(0, 100))
	deadline := time.Now().Add(2 * time.Second)
	for fromQuiet.Load() < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	t.Logf("quiet records after %v", time.Since(deadline.Add(-2*time.Second)))
	close(stop)
	require.NoError(t, <-produced)
	require.Equal(t, int64(100), fromQuiet.Load(), "records of the ring without wake-ups within 2 s")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
