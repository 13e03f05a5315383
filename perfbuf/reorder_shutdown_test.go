package perfbuf_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

var readers = []struct {
	name   string
	reader perfbuf.Backend
}{{"native", perfbuf.BackendNative}, {"cilium", perfbuf.BackendCilium}}

// stageWindow is long enough that records of one CPU are still held when
// the tests below end Consume.
const stageWindow = time.Second

func newStaged(t *testing.T, p *producer.Producer, rd perfbuf.Backend) *perfbuf.Consumer {
	return newConsumer(t, p, perfbuf.Options{
		PerCPUBytes: 8 << 20,
		Backend:     rd,
		Reorder:     &transport.Reorder{Timestamp: producer.Ktime, Window: stageWindow},
	})
}

// seqCounter counts how often each seq reached the handler.
type seqCounter map[uint64]int

func (s seqCounter) handler(t *testing.T) transport.Handler {
	return func(r transport.Record) error {
		s[seqOf(t, r.Sample)]++
		return nil
	}
}

func (s seqCounter) total() (n uint64) {
	for _, c := range s {
		n += uint64(c)
	}
	return n
}

// drainRest consumes until every one of want seqs has arrived.
func (s seqCounter) drainRest(t *testing.T, c *perfbuf.Consumer, want uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := s.handler(t)
	err := c.Consume(ctx, func(r transport.Record) error {
		_ = h(r)
		if uint64(len(s)) == want {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone, "%d of %d seqs arrived", len(s), want)
}

// TestReorderCancelHeldFromOneCPU: records of one CPU wait in the stage for
// the other CPUs (up to the window). Cancelling Consume hands them over
// before it returns, so Stats.Records is what the handler received.
func TestReorderCancelHeldFromOneCPU(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			c := newStaged(t, p, rd.reader)
			require.NoError(t, p.Run(0, 1000))
			seen := seqCounter{}
			ctx, cancel := context.WithTimeout(context.Background(), stageWindow/4)
			defer cancel()
			err := c.Consume(ctx, seen.handler(t))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			s := c.Stats()
			require.Equal(t, seen.total(), s.Records, "Stats.Records vs records the handler received")
			require.Equal(t, uint64(1000), s.Records)
			require.NoError(t, c.Close())
			require.Zero(t, c.Stats().Lost)
		})
	}
}

// TestReorderCancelMidway: the producer writes on every CPU while the
// consumer runs with a 1 s window; cancelling mid-way leaves Records equal to
// what the handler received, and what was not received is either drained by
// the next Consume or (native reader) counted lost at Close.
func TestReorderCancelMidway(t *testing.T) {
	const perCPU = 100_000
	for _, rd := range readers {
		for _, then := range []string{"drain", "close"} {
			if then == "close" && rd.reader == perfbuf.BackendCilium {
				continue // cilium's reader does not count unread samples at Close
			}
			t.Run(rd.name+"/"+then, func(t *testing.T) {
				leakcheck.Check(t)
				p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
				c := newStaged(t, p, rd.reader)
				produced := make(chan error, 1)
				go func() { produced <- p.RunParallel(producer.AllCPUs(), perCPU) }()

				seen := seqCounter{}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				err := c.Consume(ctx, seen.handler(t))
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Equal(t, seen.total(), c.Stats().Records, "Stats.Records vs records the handler received")
				require.NoError(t, <-produced)
				attempted := streamtest.Attempted(t, p)
				t.Logf("%d of %d delivered before the cancel", len(seen), attempted)

				if then == "drain" {
					seen.drainRest(t, c, attempted)
				}
				require.NoError(t, c.Close())
				s := c.Stats()
				require.Equal(t, seen.total(), s.Records)
				require.Equal(t, uint64(len(seen)), seen.total(), "a seq was handed over twice")
				require.Equal(t, attempted, s.Records+s.Lost, "delivered + lost vs produced")
			})
		}
	}
}

// TestReorderHandlerErrorKeepsHeld: after a handler error the handler is not
// called again; the records still held wait for the next Consume (or are
// counted lost at Close), and Records counts only what the handler got.
func TestReorderHandlerErrorKeepsHeld(t *testing.T) {
	errStop := errors.New("stop")
	for _, rd := range readers {
		for _, then := range []string{"drain", "close"} {
			t.Run(rd.name+"/"+then, func(t *testing.T) {
				p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
				c := newStaged(t, p, rd.reader)
				require.NoError(t, p.Run(0, 1000))
				seen := seqCounter{}
				h := seen.handler(t)
				calls := 0
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				err := c.Consume(ctx, func(r transport.Record) error {
					_ = h(r)
					if calls++; calls == 10 {
						return errStop
					}
					return nil
				})
				require.ErrorIs(t, err, errStop)
				require.Equal(t, 10, calls, "handler called after its error")
				require.Equal(t, uint64(10), c.Stats().Records)
				attempted := streamtest.Attempted(t, p)

				if then == "drain" {
					seen.drainRest(t, c, attempted)
					require.Equal(t, attempted, c.Stats().Records)
				}
				require.NoError(t, c.Close())
				s := c.Stats()
				require.Equal(t, seen.total(), s.Records)
				require.Equal(t, uint64(len(seen)), seen.total(), "a seq was handed over twice")
				if rd.reader == perfbuf.BackendNative || then == "drain" {
					require.Equal(t, attempted, s.Records+s.Lost, "delivered + lost vs produced")
				} else {
					// cilium's reader does not count what is left in
					// the buffers; the held records are counted.
					require.NotZero(t, s.Lost)
					require.LessOrEqual(t, s.Records+s.Lost, attempted)
				}
			})
		}
	}
}

// TestReorderHandlerPanicCountedOnce: a panic in the handler of a record the
// stage releases leaves that record in the stage; the next Consume hands it
// over again, it is counted once, and no other record is handed over twice.
func TestReorderHandlerPanicCountedOnce(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			c := newStaged(t, p, rd.reader)
			require.NoError(t, p.RunParallel(producer.AllCPUs(), 1000))
			attempted := streamtest.Attempted(t, p)
			type boom struct{}
			seen := seqCounter{}
			h := seen.handler(t)
			var panicked uint64
			got := func() (v any) {
				defer func() { v = recover() }()
				_ = c.Consume(context.Background(), func(r transport.Record) error {
					_ = h(r)
					if seen.total() == 5 {
						panicked = seqOf(t, r.Sample)
						panic(boom{})
					}
					return nil
				})
				return nil
			}()
			require.Equal(t, boom{}, got)
			require.Equal(t, uint64(4), c.Stats().Records, "the record whose handler panicked is not counted yet")

			seen.drainRest(t, c, attempted)
			require.NoError(t, c.Close())
			s := c.Stats()
			require.Equal(t, 2, seen[panicked], "the record whose handler panicked is handed over again")
			for seq, n := range seen {
				if seq != panicked {
					require.Equal(t, 1, n, "seq %d", seq)
				}
			}
			require.Equal(t, attempted, s.Records, "every record counted once")
			require.Zero(t, s.Lost)
		})
	}
}
