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

// TestReorderLatePanicCountedOnce: a late record (here every record: the
// Timestamp finds none) whose handler panics is handed over again by the
// next Consume and counted late once, when its handler returns: Late equals
// the records delivered.
func TestReorderLatePanicCountedOnce(t *testing.T) {
	const n = 50
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			noTimestamp := func([]byte) (uint64, bool) { return 0, false }
			c := newConsumer(t, p, perfbuf.Options{
				Backend: rd.reader,
				Reorder: &transport.Reorder{Timestamp: noTimestamp, Window: time.Second},
			})
			require.NoError(t, p.Run(0, n))

			seen := seqCounter{}
			panicked := map[uint64]bool{}
			handler := func(r transport.Record) error {
				seq := seqOf(t, r.Sample)
				if seq%10 == 3 && !panicked[seq] {
					panicked[seq] = true
					panic("handler panic")
				}
				seen[seq]++
				if seen.total() == n {
					return streamtest.ErrDone
				}
				return nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for {
				err, panicked := consumeRecovering(ctx, c, handler)
				if panicked {
					continue
				}
				require.ErrorIs(t, err, streamtest.ErrDone)
				break
			}
			require.Len(t, panicked, n/10)
			for seq, k := range seen {
				require.Equal(t, 1, k, "seq %d", seq)
			}
			s := c.Stats()
			require.Equal(t, uint64(n), s.Records)
			require.Equal(t, uint64(n), s.Late, "a late record whose handler panicked is counted late once")
		})
	}
}

// consumeRecovering runs Consume, recovering a panic of its handler.
func consumeRecovering(ctx context.Context, c transport.Consumer, h transport.Handler) (err error, panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	return c.Consume(ctx, h), false
}
