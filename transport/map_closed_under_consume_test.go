package transport_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/soak"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// TestMapClosedUnderConsume closes the producer's whole collection (its
// program and every map, the consumer's map and the ringbuf drop counter
// included) while Consume runs.
//
// The consumer cannot detect this: it holds the buffers through its own
// references (mmaps of the ring, perf events installed in a clone of the perf
// event array), which keep the kernel objects alive, and cilium's Map.FD is
// not safe to read concurrently with Map.Close, so polling the user's map
// would itself be a data race. What is asserted is the safe behaviour: no
// panic and no error, records already in the buffer are still delivered after
// the close, ctx and Close still end Consume promptly, Stats keeps working
// (ringbuf: the closed drop counter can no longer be read, so LostKnown turns
// false rather than reporting a wrong count), and nothing leaks.
func TestMapClosedUnderConsume(t *testing.T) {
	for _, hc := range hardCases() {
		t.Run(hc.name, func(t *testing.T) {
			for _, end := range []string{"cancel", "close"} {
				t.Run(end, func(t *testing.T) {
					leakcheck.Check(t)
					mapClosed(t, hc, end == "close")
				})
			}
		})
	}
}

func mapClosed(t *testing.T, hc hardCase, byClose bool) {
	const first, second = 100, 300
	p := streamtest.Load(t, producer.Config{Kind: hc.kind, SampleSize: 64})
	c, err := hc.open(p, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Stats reads the drop counter, so it must not race with the close
	// below (cilium's Map is not safe for that): only the consuming
	// goroutine runs during the close.
	// An interrupted test run is retried whole, so the producer may emit
	// more than asked: count with Attempted, and leave room for that.
	got := make(chan uint64, 2*(first+second))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, func(r transport.Record) error {
			got <- seqOf(t, r.Sample)
			return nil
		})
	}()
	if err := p.Run(0, first); err != nil {
		t.Fatal(err)
	}
	n1 := streamtest.Attempted(t, p)
	for i := range n1 {
		select {
		case <-got:
		case err := <-done:
			t.Fatalf("Consume returned %v after %d records", err, i)
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d records arrived", i, n1)
		}
	}
	// Records waiting in the buffer when the maps go away.
	if err := p.Run(0, second); err != nil {
		t.Fatal(err)
	}
	n2 := streamtest.Attempted(t, p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range n2 - n1 {
		select {
		case <-got:
		case err := <-done:
			t.Fatalf("Consume returned %v after the maps were closed", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("after the maps were closed, only %d of the %d records waiting arrived", i, n2-n1)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Consume returned %v after the maps were closed", err)
	case <-time.After(50 * time.Millisecond):
	}
	s := c.Stats()
	if s.Records != n2 {
		t.Fatalf("Stats.Records = %d, want %d", s.Records, n2)
	}
	if hc.kind.Ringbuf() && s.LostKnown {
		t.Errorf("Stats.LostKnown is true with a closed drop counter")
	}
	var want error = context.Canceled
	var end time.Time
	if byClose {
		want = transport.ErrClosed
		within(t, promptly, "Close", func() { err = c.Close() })
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
		end = time.Now()
	} else {
		end = time.Now()
		cancel()
	}
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("Consume returned %v, want %v", err, want)
		}
		if d := time.Since(end); d > promptly {
			t.Fatalf("Consume returned %v after the end", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Consume did not return after the end\n\n%s", soak.Stacks())
	}
	within(t, promptly, "Close", func() { err = c.Close() })
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	_ = c.Stats()
}
