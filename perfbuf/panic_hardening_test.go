package perfbuf_test

import (
	"context"
	"errors"
	"testing"
	"time"

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
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			// Overflow the 4 KiB buffer of CPU 0 while nobody reads.
			if err := p.Run(0, 1000); err != nil {
				t.Fatal(err)
			}
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
			if delivered == 0 || delivered >= 1000 {
				t.Fatalf("%d of 1000 samples fit in a 4 KiB buffer", delivered)
			}
			if err := p.Run(0, 10); err != nil {
				t.Fatal(err)
			}
			var got any
			func() {
				defer func() { got = recover() }()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				err := c.Consume(ctx, handler)
				t.Errorf("Consume returned %v, want the OnLost panic", err)
			}()
			if got != any(want) {
				t.Fatalf("recovered %#v, want OnLost's panic value", got)
			}
			lost := c.Stats().Lost
			if lost == 0 {
				t.Fatal("OnLost was called but Stats.Lost is 0")
			}

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
			if !errors.Is(err, streamtest.ErrDone) {
				t.Fatalf("Consume after the OnLost panic: %v (%d of %d samples)", err, len(seen), delivered+10)
			}
			for seq, n := range seen {
				if n > 1 {
					t.Errorf("seq %d handed over %d times", seq, n)
				}
			}
			s := c.Stats()
			if s.Lost != lost {
				t.Errorf("Stats.Lost went from %d to %d: the loss was counted again after the panic (%d OnLost calls)", lost, s.Lost, reports)
			}
			if attempted := streamtest.Attempted(t, p); s.Records+s.Lost != attempted && uint64(len(seen))+s.Lost != attempted {
				t.Errorf("delivered %d (Stats.Records %d) + lost %d != attempted %d", len(seen), s.Records, s.Lost, attempted)
			}
		})
	}
}

func seqOf(t *testing.T, sample []byte) uint64 {
	t.Helper()
	h, err := producer.ParseHeader(sample)
	if err != nil {
		t.Fatal(err)
	}
	return h.Seq
}
