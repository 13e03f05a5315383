package ringbuf_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOverflow: a 16 KiB ring, a stalling consumer and 20x the ring's
// capacity from every CPU: delivered + dropped == attempted, exactly, ten
// times over.
func TestOverflow(t *testing.T) {
	for run := range 10 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 10, SampleSize: 128})
			c := newConsumer(t, p, ringbuf.Options{})
			capacity := (16 << 10) / (128 + 8)
			s := streamtest.Overflow(t, p, c, 20*capacity)
			t.Logf("delivered %d, lost %d", s.Records, s.Lost)
		})
	}
}

// TestNoWakeupProducerNeedsDrainTimer: a producer that submits with
// BPF_RB_NO_WAKEUP never wakes the consumer. With DrainInterval the records
// arrive within two intervals; without it they sit in the ring.
func TestNoWakeupProducerNeedsDrainTimer(t *testing.T) {
	const interval = 250 * time.Millisecond
	t.Run("with timer", func(t *testing.T) {
		p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, Wakeup: producer.WakeupNever})
		c := newConsumer(t, p, ringbuf.Options{DrainInterval: interval})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got := make(chan time.Time, 1000)
		go func() {
			_ = c.Consume(ctx, func(transport.Record) error { got <- time.Now(); return nil })
		}()
		time.Sleep(interval / 2) // let Consume block
		require.NoError(t, p.Run(0, 1000))
		produced := time.Now()
		var last time.Time
		for range 1000 {
			select {
			case last = <-got:
			case <-ctx.Done():
				t.Fatalf("records did not arrive: %+v", c.Stats())
			}
		}
		require.Less(t, last.Sub(produced), 2*interval, "records must arrive within two drain intervals")
	})
	t.Run("without timer", func(t *testing.T) {
		p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, Wakeup: producer.WakeupNever})
		c := newConsumer(t, p, ringbuf.Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*interval)
		defer cancel()
		consumed := make(chan error, 1)
		var n int
		go func() { consumed <- c.Consume(ctx, func(transport.Record) error { n++; return nil }) }()
		time.Sleep(interval / 2)
		require.NoError(t, p.Run(0, 1000))
		require.ErrorIs(t, <-consumed, context.DeadlineExceeded)
		require.Zero(t, n, "no wake-up, no timer: nothing is read")
		require.Equal(t, uint64(1000*(producer.HeaderSize+8)), c.Stats().PendingBytes, "the records wait in the ring")
	})
}

// TestWakeupPolicies: every producer policy delivers everything when the
// consumer drains on a timer, and forced wake-ups are the most frequent.
func TestWakeupPolicies(t *testing.T) {
	for _, w := range []producer.Wakeup{producer.WakeupAdaptive, producer.WakeupNever, producer.WakeupAlways, producer.WakeupBytes} {
		t.Run(w.String(), func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, Wakeup: w, WakeupBytes: 4096, RingSize: 1 << 20})
			c := newConsumer(t, p, ringbuf.Options{DrainInterval: 20 * time.Millisecond})
			require.NoError(t, p.Run(0, 10_000))
			streamtest.ConsumeAll(t, c, streamtest.Attempted(t, p))
			require.Equal(t, uint64(10_000), c.Stats().Records)
		})
	}
}
