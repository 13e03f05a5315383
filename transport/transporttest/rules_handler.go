package transporttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

func testHandlerErrorStops(t *testing.T, e *env) {
	n := e.produce(t, e.batch(10))
	errStop := errors.New("handler says stop")
	calls := 0
	var first []rec
	err := e.c.Consume(context.Background(), func(r transport.Record) error {
		calls++
		if rr, err := e.rec(r); err == nil {
			first = append(first, rr)
		}
		if calls == 3 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatalf("Consume returned %v, want the handler's error wrapped", err)
	}
	if calls != 3 {
		t.Fatalf("handler called %d times, want 3: it must not be called after it returned an error", calls)
	}
	if s := e.c.Stats(); s.Records != 3 {
		t.Errorf("Stats.Records = %d after 3 records", s.Records)
	}
	rest := e.consumeAll(t, n-3)
	all := append(first, rest...)
	e.checkRecords(t, all, true)
	e.checkStats(t, all)
}

// A panic in the handler reaches Consume's caller unchanged; the records
// whose handler returned are counted; the consumer remains usable and
// closable, and the next Consume hands the record whose handler panicked over
// again (counted once).
func testHandlerPanic(t *testing.T, e *env) {
	n := e.produce(t, e.batch(10))
	type boom struct{ msg string }
	want := &boom{"handler panic"}
	var handed []rec
	got := func() (v any) {
		defer func() { v = recover() }()
		_ = e.c.Consume(context.Background(), func(r transport.Record) error {
			rr, err := e.rec(r)
			if err != nil {
				return err
			}
			handed = append(handed, rr)
			if len(handed) == 3 {
				panic(want)
			}
			return nil
		})
		return nil
	}()
	if got != want {
		t.Fatalf("recovered %v from Consume, want the handler's panic value %v", got, want)
	}
	if len(handed) != 3 {
		t.Fatalf("handler saw %d records before Consume ended, want 3", len(handed))
	}
	// The record whose handler panicked is not counted: its handler never
	// returned. The consumer is not stuck: the next Consume hands it over
	// again, first, and then the rest.
	if s := e.c.Stats(); s.Records != 2 {
		t.Errorf("Stats.Records = %d after the handler returned for 2 records and panicked on the third, want 2", s.Records)
	}
	panicked := handed[2]
	handed = handed[:2]
	col := newCollector(e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := e.start(t, ctx, col.handle)
	deadline := time.Now().Add(arrival)
	for {
		seen := map[uint64]bool{}
		for _, x := range append(col.snapshot(), handed...) {
			seen[x.seq] = true
		}
		missing := 0
		for s := range uint64(n) {
			if !seen[s] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if r.returned() {
			t.Fatalf("Consume after a handler panic returned %v", r.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records never delivered after the handler panicked", missing)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	r.wait(patience)
	col.check(t)
	again := col.snapshot()
	if len(again) == 0 || again[0].seq != panicked.seq {
		t.Fatalf("the next Consume did not start with the record whose handler panicked (seq %d)", panicked.seq)
	}
	all := append(handed, again...)
	e.checkRecords(t, all, false)
	e.checkStats(t, all)
	if err := e.c.Close(); err != nil {
		t.Errorf("Close after a handler panic: %v", err)
	}
}

// A nil handler is an error, not a panic, and leaves the consumer usable.
func testNilHandler(t *testing.T, e *env) {
	e.produce(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), arrival)
	defer cancel()
	start := time.Now()
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Consume with a nil handler panicked: %v", v)
			}
		}()
		err = e.c.Consume(ctx, nil)
	}()
	if err == nil {
		t.Fatal("Consume with a nil handler returned nil")
	}
	if d := time.Since(start); d > promptly {
		t.Errorf("Consume with a nil handler took %v to fail", d)
	}
	recs := e.consumeAll(t, 1)
	e.checkRecords(t, recs, true)
}

// Close from another goroutine unblocks a waiting Consume promptly, with
// ErrClosed.
