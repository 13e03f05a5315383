package transporttest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

func testCloseUnblocks(t *testing.T, e *env) {
	r := e.start(t, context.Background(), func(transport.Record) error { return nil })
	time.Sleep(settle)
	if r.returned() {
		t.Fatalf("Consume returned %v with nothing to consume", r.err)
	}
	closed := time.Now()
	if err := e.c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !r.wait(patience) {
		t.Fatal("Consume did not return after Close")
	}
	if d := r.end.Sub(closed); d > promptly {
		t.Errorf("Consume returned %v after Close, want within %v", d, promptly)
	}
	if !errors.Is(r.err, transport.ErrClosed) {
		t.Errorf("Consume returned %v after Close, want ErrClosed", r.err)
	}
}

// Close called by the handler itself ends Consume with ErrClosed, without a
// deadlock.
func testCloseFromHandler(t *testing.T, e *env) {
	n := e.produce(t, e.batch(5))
	calls := 0
	var closeErr error
	r := e.start(t, context.Background(), func(transport.Record) error {
		calls++
		if calls == 1 {
			closeErr = e.c.Close()
		}
		return nil
	})
	if !r.wait(patience) {
		t.Fatal("Consume did not return after the handler called Close")
	}
	if closeErr != nil {
		t.Errorf("Close from the handler: %v", closeErr)
	}
	if !errors.Is(r.err, transport.ErrClosed) {
		t.Errorf("Consume returned %v after the handler called Close, want ErrClosed", r.err)
	}
	if calls > n {
		t.Errorf("handler called %d times for %d samples", calls, n)
	}
}

// Close is idempotent and safe from several goroutines at once.
func testCloseIdempotent(t *testing.T, e *env) {
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = e.c.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Close %d: %v", i, err)
		}
	}
	if err := e.c.Close(); err != nil {
		t.Errorf("Close after Close: %v", err)
	}
}

// Consume after Close fails with ErrClosed at once, without calling the
// handler, even with samples waiting.
func testConsumeAfterClose(t *testing.T, e *env) {
	e.produce(t, e.batch(3))
	if err := e.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var called atomic.Bool
	r := e.start(t, context.Background(), func(transport.Record) error { called.Store(true); return nil })
	if !r.wait(promptly) {
		t.Fatal("Consume after Close blocked")
	}
	if !errors.Is(r.err, transport.ErrClosed) {
		t.Errorf("Consume after Close returned %v, want ErrClosed", r.err)
	}
	if called.Load() {
		t.Error("Consume after Close called the handler")
	}
}

// Done is closed by Close, and only by Close.
func testDone(t *testing.T, e *env) {
	done := e.c.Done()
	if done == nil {
		t.Fatal("Done() returned nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := e.start(t, ctx, func(transport.Record) error { return nil })
	time.Sleep(settle)
	cancel()
	r.wait(patience)
	select {
	case <-done:
		t.Fatal("Done closed before Close (a Consume ended by its context must not close it)")
	default:
	}
	if err := e.c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(promptly):
		t.Fatal("Done not closed after Close")
	}
	select {
	case <-e.c.Done():
	default:
		t.Error("Done() called after Close returns a channel that is not closed")
	}
}

// checkCtxReturn checks that r returned within promptly of when, with want.
func testBusy(t *testing.T, e *env) {
	col := newCollector(e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := e.start(t, ctx, col.handle)
	time.Sleep(settle)
	var called atomic.Bool
	second := e.start(t, context.Background(), func(transport.Record) error { called.Store(true); return nil })
	if !second.wait(promptly) {
		t.Fatal("second concurrent Consume blocked")
	}
	if !errors.Is(second.err, transport.ErrBusy) {
		t.Errorf("second concurrent Consume returned %v, want ErrBusy", second.err)
	}
	if first.returned() {
		t.Fatalf("first Consume returned %v when a second one was refused", first.err)
	}
	e.produce(t, e.batch(3))
	col.waitFor(t, e.produced, arrival)
	if called.Load() {
		t.Error("refused Consume called its handler")
	}
	cancel()
	checkCtxReturn(t, first, time.Now(), context.Canceled)
	col.check(t)
	e.checkRecords(t, col.snapshot(), true)
}

// Stats may be called at any time, also while Consume runs (run under
// -race), and its counters never go backwards.
