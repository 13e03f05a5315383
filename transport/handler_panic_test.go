package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// promptly is how soon Close and cancellation must end a Consume.
const promptly = time.Second

type boom struct{ msg string }

// TestHandlerPanic: a panic in the handler reaches the caller of Consume
// unchanged (the same value, recovered by the caller); Stats counts every
// record whose handler returned, not the panicking one; the consumer can be
// consumed again, and that Consume hands over the record whose handler
// panicked first, then every later one, exactly once, so that in the end
// Stats.Records counts each record once; Close then works at once and
// nothing leaks.
func TestHandlerPanic(t *testing.T) {
	for _, hc := range hardCases() {
		t.Run(hc.name, func(t *testing.T) {
			leakcheck.Check(t)
			const n, panicAt = 200, 50
			p := streamtest.Load(t, producer.Config{Kind: hc.kind, SampleSize: 64})
			c, err := hc.open(p, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := p.Run(0, n); err != nil {
				t.Fatal(err)
			}
			want := &boom{"handler panic"}
			var calls int
			var panicSeq uint64
			var got any
			within(t, 10*time.Second, "Consume with a panicking handler", func() {
				defer func() { got = recover() }()
				err := c.Consume(context.Background(), func(r transport.Record) error {
					if calls++; calls == panicAt {
						panicSeq = seqOf(t, r.Sample)
						panic(want)
					}
					return nil
				})
				t.Errorf("Consume returned %v instead of panicking", err)
			})
			if got != any(want) {
				t.Fatalf("recovered %#v, want the handler's own panic value %#v", got, want)
			}
			if s := c.Stats(); s.Records != panicAt-1 {
				t.Fatalf("Stats.Records = %d after %d handler calls, the last of which panicked", s.Records, panicAt)
			}

			// Consume again: the rest arrives.
			var again []uint64
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = c.Consume(ctx, func(r transport.Record) error {
				again = append(again, seqOf(t, r.Sample))
				if again[len(again)-1] == n-1 {
					return streamtest.ErrDone
				}
				return nil
			})
			if !errors.Is(err, streamtest.ErrDone) {
				t.Fatalf("Consume after the panic: %v after %d records", err, len(again))
			}
			if len(again) == 0 || again[0] != panicSeq {
				t.Fatalf("the next Consume did not start with the record whose handler panicked (seq %d)", panicSeq)
			}
			again = again[1:]
			for i, seq := range again {
				if seq != panicSeq+1+uint64(i) {
					t.Fatalf("after the panic, record %d has seq %d, want %d", i, seq, panicSeq+1+uint64(i))
				}
			}
			if len(again) != n-int(panicSeq)-1 {
				t.Fatalf("after the panic at seq %d got %d records, want %d", panicSeq, len(again), n-int(panicSeq)-1)
			}
			if s := c.Stats(); s.Records != n {
				t.Fatalf("Stats.Records = %d, want each of the %d records counted once", s.Records, n)
			}
			within(t, promptly, "Close after a handler panic", func() { err = c.Close() })
			if err != nil {
				t.Fatalf("Close after a handler panic: %v", err)
			}
		})
	}
}
