package perfbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// consumeReordered runs the producer on every CPU at once, then consumes
// through the stage and returns the timestamps in delivery order. The reader
// drains one CPU's buffer after the other, so without the stage the output is
// far from ordered.
func consumeReordered(t *testing.T, window time.Duration) ([]uint64, transport.Stats, uint64) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	c := newConsumer(t, p, perfbuf.Options{
		PerCPUBytes: 8 << 20,
		Reorder:     &transport.Reorder{Timestamp: producer.Ktime, Window: window},
	})
	const perCPU = 20_000
	cpus := producer.AllCPUs()
	require.NoError(t, p.RunParallel(cpus, perCPU))
	attempted := streamtest.Attempted(t, p)

	var out []uint64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Consume(ctx, func(r transport.Record) error {
		ts, _ := producer.Ktime(r.Sample)
		out = append(out, ts)
		if uint64(len(out)) == attempted {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	return out, c.Stats(), attempted
}

func TestReorderMergesCPUs(t *testing.T) {
	out, s, attempted := consumeReordered(t, time.Second)
	require.Equal(t, attempted, uint64(len(out)))
	require.Zero(t, s.Lost)
	require.Zero(t, s.Late)
	for i := 1; i < len(out); i++ {
		require.LessOrEqual(t, out[i-1], out[i], "timestamp decreased at %d", i)
	}
}

// TestReorderWindowZeroCountsLate: with no window, nothing is held; records
// from the CPU read second arrive after newer ones and are counted late, but
// every record is still delivered.
func TestReorderWindowZeroCountsLate(t *testing.T) {
	out, s, attempted := consumeReordered(t, 0)
	require.Equal(t, attempted, uint64(len(out)))
	var descents uint64
	for i := 1; i < len(out); i++ {
		if out[i] < out[i-1] {
			descents++
		}
	}
	require.NotZero(t, descents, "buffers are drained one CPU after the other")
	require.NotZero(t, s.Late)
	require.LessOrEqual(t, descents, s.Late)
}

func TestReorderBadOptions(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	_, err := perfbuf.New(p.Map(), perfbuf.Options{Reorder: &transport.Reorder{}})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = perfbuf.New(p.Map(), perfbuf.Options{Reorder: &transport.Reorder{Timestamp: producer.Ktime, Window: -1}})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
}
