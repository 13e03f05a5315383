package perfbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOnLostPanic: Options.OnLost is user code run on the consuming
// goroutine, like the handler. A panic in it reaches the caller of Consume
// unchanged, the loss it was told about is counted once (not again when the
// next Consume resumes), no sample is handed over twice, and the consumer
// still consumes and closes.
func TestOnLostPanic(t *testing.T) {
	for _, rd := range []struct {
		name   string
		reader perfbuf.Backend
	}{{"native", perfbuf.BackendNative}, {"cilium", perfbuf.BackendCilium}} {
		t.Run(rd.name, func(t *testing.T) {
			leakcheck.Check(t)
			type lostPanic struct{ msg string }
			want := &lostPanic{"OnLost panic"}
			var reports int
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 64})
			c, err := perfbuf.New(p.Map(), perfbuf.Options{
				PerCPUBytes: 4096,
				Backend:     rd.reader,
				OnLost: func(cpu int, n uint64) {
					if reports++; reports == 1 {
						panic(want)
					}
				},
			})
			require.NoError(t, err)
			defer c.Close()

			// Overflow the 4 KiB buffer of CPU 0 while nobody reads.
			require.NoError(t, p.Run(0, 1000))
			seen := map[uint64]int{}
			handler := func(r transport.Record) error {
				seen[seqOf(t, r.Sample)]++
				return nil
			}
			// Drain what fits; the loss is reported only with the next
			// successful write.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_ = c.Consume(ctx, handler)
			cancel()
			delivered := len(seen)
			require.True(t, delivered > 0 && delivered < 1000, "%d of 1000 samples fit in a 4 KiB buffer", delivered)
			require.NoError(t, p.Run(0, 10))
			var got any
			func() {
				defer func() { got = recover() }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := c.Consume(ctx, handler)
				assert.Failf(t, "Consume returned", "got %v, want the OnLost panic", err)
			}()
			require.Same(t, want, got, "recovered %#v, want OnLost's panic value", got)
			lost := c.Stats().Lost
			require.NotZero(t, lost, "OnLost was called but Stats.Lost is 0")

			// Consume again: the 10 new samples arrive, once each.
			ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = c.Consume(ctx, func(r transport.Record) error {
				if err := handler(r); err != nil {
					return err
				}
				if len(seen) == delivered+10 {
					return streamtest.ErrDone
				}
				return nil
			})
			require.ErrorIs(t, err, streamtest.ErrDone, "Consume after the OnLost panic (%d of %d samples)", len(seen), delivered+10)
			for seq, n := range seen {
				assert.LessOrEqual(t, n, 1, "seq %d handed over %d times", seq, n)
			}
			s := c.Stats()
			assert.Equal(t, lost, s.Lost, "Stats.Lost changed: the loss was counted again after the panic (%d OnLost calls)", reports)
			attempted := streamtest.Attempted(t, p)
			assert.True(t, s.Records+s.Lost == attempted || uint64(len(seen))+s.Lost == attempted,
				"delivered %d (Stats.Records %d) + lost %d != attempted %d", len(seen), s.Records, s.Lost, attempted)
		})
	}
}

func seqOf(t *testing.T, sample []byte) uint64 {
	t.Helper()
	h, err := producer.ParseHeader(sample)
	require.NoError(t, err)
	return h.Seq
}
