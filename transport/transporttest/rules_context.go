package transporttest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

func checkCtxReturn(t *testing.T, r *consuming, when time.Time, want error) {
	t.Helper()
	if !r.wait(patience) {
		t.Fatalf("Consume did not return within %v after its context ended", patience)
	}
	if d := r.end.Sub(when); d > promptly {
		t.Errorf("Consume returned %v after its context ended, want within %v", d, promptly)
	}
	if !errors.Is(r.err, want) {
		t.Errorf("Consume returned %v, want %v wrapped", r.err, want)
	}
}

func testCancelWhileBlocked(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := e.start(t, ctx, func(transport.Record) error { return nil })
	time.Sleep(settle)
	if r.returned() {
		t.Fatalf("Consume returned %v with nothing to consume", r.err)
	}
	cancelled := time.Now()
	cancel()
	checkCtxReturn(t, r, cancelled, context.Canceled)
}

func testDeadlineWhileBlocked(t *testing.T, e *env) {
	const timeout = 100 * time.Millisecond
	// The deadline counts from here, before Consume starts.
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := e.start(t, ctx, func(transport.Record) error { return nil })
	checkCtxReturn(t, r, begin.Add(timeout), context.DeadlineExceeded)
	if d := r.end.Sub(begin); d < timeout {
		t.Errorf("Consume returned after %v, before its %v deadline", d, timeout)
	}
}

// A context cancelled with a cause still yields ctx.Err() (context.Canceled)
// wrapped, as the contract says.
func testCancelWithCause(t *testing.T, e *env) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := e.start(t, ctx, func(transport.Record) error { return nil })
	time.Sleep(settle)
	cancelled := time.Now()
	cancel(errors.New("cause of the cancellation"))
	checkCtxReturn(t, r, cancelled, context.Canceled)
}

// A context that is already done makes Consume return at once.
func testCancelledBefore(t *testing.T, e *env) {
	e.produce(t, e.batch(3))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := e.start(t, ctx, func(transport.Record) error { return nil })
	checkCtxReturn(t, r, r.start, context.Canceled)
}

// Records still in the buffer when a Consume is cancelled are delivered by
// the next Consume: cancellation loses nothing.
func testCancelLosesNothing(t *testing.T, e *env) {
	n := e.produce(t, e.batch(100))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := newCollector(e)
	err := e.c.Consume(ctx, func(r transport.Record) error {
		err := col.handle(r)
		if col.len() == n/2 {
			cancel()
			// Let the consumer see the cancellation while it still
			// has records to hand over.
			time.Sleep(20 * time.Millisecond)
		}
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v, want context.Canceled wrapped", err)
	}
	col.check(t)
	first := col.snapshot()
	if len(first) > n {
		t.Fatalf("delivered %d of %d records", len(first), n)
	}
	all := first
	if len(first) < n {
		// Consume may hand over up to 64 more records after the
		// cancellation: a small buffer can be emptied first.
		all = append(all, e.consumeAll(t, n-len(first))...)
	}
	e.checkRecords(t, all, true)
	e.checkStats(t, all)
}

// A second Consume while one runs fails at once with ErrBusy and does not
// disturb the first.

// A handler that cancels its own context receives at most 64 more records:
// Consume looks at its context at least every 64 records, not only when its
// reader runs dry.
func testCancelFromHandler(t *testing.T, e *env) {
	n := e.produce(t, e.batch(1000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	col := newCollector(e)
	after := 0
	r := e.start(t, ctx, func(rec transport.Record) error {
		if ctx.Err() != nil {
			after++
		}
		if err := col.handle(rec); err != nil {
			return err
		}
		cancel()
		return nil
	})
	checkCtxReturn(t, r, time.Now(), context.Canceled)
	if after > 64 {
		t.Errorf("the handler received %d records after it cancelled the context (of %d waiting), want at most 64", after, n)
	}
	col.check(t)
	e.checkRecords(t, col.snapshot(), false)
}

// A nil context is an error matching ErrInvalidOptions, not a panic, and
// leaves the consumer usable.
func testNilContext(t *testing.T, e *env) {
	var nilCtx context.Context
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Consume with a nil context panicked: %v", v)
			}
		}()
		err = e.c.Consume(nilCtx, func(transport.Record) error { return nil })
	}()
	if !errors.Is(err, transport.ErrInvalidOptions) {
		t.Fatalf("Consume(nil context) = %v, want ErrInvalidOptions", err)
	}
	e.consumeAll(t, e.produce(t, 1))
}
