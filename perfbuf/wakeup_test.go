package perfbuf_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOverflow: 8 KiB per CPU, a stalling consumer and 20x the capacity from
// every CPU: delivered + lost (the kernel's count) == attempted, exactly,
// ten times over.
func TestOverflow(t *testing.T) {
	for run := range 10 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 128})
			var reported uint64
			c := newConsumer(t, p, perfbuf.Options{PerCPUBytes: 8 << 10, OnLost: func(_ int, n uint64) { reported += n }})
			capacity := (8 << 10) / (128 + 16)
			s := streamtest.Overflow(t, p, c, 20*capacity)
			require.Equal(t, s.Lost, reported, "OnLost sees every loss")
			var perCPU uint64
			for _, n := range s.LostPerCPU {
				perCPU += n
			}
			require.Equal(t, s.Lost, perCPU)
			t.Logf("delivered %d, lost %d", s.Records, s.Lost)
		})
	}
}

// TestWakeupEvents: with a wake-up every 64 samples the consumer wakes far
// less often than once per record, and the drain timer still delivers the
// samples below the threshold.
func TestWakeupEvents(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	c := newConsumer(t, p, perfbuf.Options{WakeupEvents: 64, DrainInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const bursts, perBurst = 100, 50 // 5,000 samples, in bursts that do not align with 64
	var n uint64
	consumed := make(chan error, 1)
	go func() {
		consumed <- c.Consume(ctx, func(transport.Record) error {
			if n++; n == bursts*perBurst {
				return streamtest.ErrDone
			}
			return nil
		})
	}()
	for range bursts {
		require.NoError(t, p.Run(0, perBurst))
		time.Sleep(time.Millisecond)
	}
	require.ErrorIs(t, <-consumed, streamtest.ErrDone)
	s := c.Stats()
	require.Equal(t, uint64(bursts*perBurst), s.Records)
	require.Less(t, s.Wakeups, s.Records/16, "a wake-up every 64 samples, plus the timer")
	t.Logf("%d records, %d wake-ups", s.Records, s.Wakeups)
}
