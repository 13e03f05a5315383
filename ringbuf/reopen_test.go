package ringbuf_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestCloseReopen closes a consumer while it drains a full ring under a
// running producer, its handler still holding a record, and at once opens a
// new consumer on the same map. Together the two deliver every record the
// ring accepted exactly once: the new one starts where the old one stopped,
// not at the position the old one had published last.
func TestCloseReopen(t *testing.T) {
	const iterations, perRun = 50, 20_000
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 64 << 10})
	var mu sync.Mutex
	chk := streamtest.Checker{}
	add := func(r transport.Record) error {
		mu.Lock()
		defer mu.Unlock()
		return chk.Add(r)
	}
	count := func() (uint64, error) {
		mu.Lock()
		defer mu.Unlock()
		return chk.Count(), chk.Err()
	}
	for i := range iterations {
		produced := make(chan error, 1)
		go func() { produced <- p.Run(0, perRun) }()

		old, err := ringbuf.New(p.Map(), ringbuf.Options{})
		require.NoError(t, err)
		closeAt := uint64(100 + 37*i)
		closeNow := make(chan struct{})
		oldDone := make(chan error, 1)
		go func() {
			var n uint64
			oldDone <- old.Consume(context.Background(), func(r transport.Record) error {
				if err := add(r); err != nil {
					return err
				}
				if n++; n == closeAt {
					close(closeNow)
					// Still in the handler when Close returns and
					// the new consumer opens.
					time.Sleep(time.Millisecond)
				}
				return nil
			})
		}()
		select {
		case <-closeNow:
		case err := <-oldDone:
			t.Fatalf("iteration %d: first consumer ended early: %v", i, err)
		}
		require.NoError(t, old.Close())
		c, err := ringbuf.New(p.Map(), ringbuf.Options{})
		require.NoError(t, err)
		newDone := make(chan error, 1)
		go func() { newDone <- c.Consume(context.Background(), add) }()

		require.NoError(t, <-produced)
		want := streamtest.Attempted(t, p) - dropped(t, p)
		deadline := time.Now().Add(30 * time.Second)
		for n, err := count(); n < want && err == nil && time.Now().Before(deadline); n, err = count() {
			time.Sleep(time.Millisecond)
		}
		// Anything delivered twice would arrive meanwhile.
		time.Sleep(20 * time.Millisecond)
		require.NoError(t, c.Close())
		require.ErrorIs(t, <-newDone, transport.ErrClosed)
		require.ErrorIs(t, <-oldDone, transport.ErrClosed)
		n, err := count()
		require.NoError(t, err, "iteration %d", i)
		require.Equal(t, want, n, "iteration %d", i)
	}
}

func dropped(t *testing.T, p *producer.Producer) uint64 {
	t.Helper()
	n, err := p.Dropped()
	require.NoError(t, err)
	return n
}
