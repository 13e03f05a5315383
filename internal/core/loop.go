package core

import (
	"github.com/bpfstream/bpfstream/internal/idle"
	"github.com/bpfstream/bpfstream/transport"

	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrWake is returned by a Source's Drain when it was woken without data to
// hand over: by Interrupt, or by a drain timer. The loop then re-checks its
// context and drains again.
var ErrWake = errors.New("bpfstream: woken")

// errStop makes a Source's Drain return early once the context is done.
var errStop = errors.New("bpfstream: stop requested")

// Source is what a transport plugs into the shared consume loop.
type Source interface {
	// Drain waits until records may be available (it does not wait while
	// records are already waiting), then calls emit.Emit for each waiting
	// record, in order. It returns nil after a batch, ErrWake when woken
	// without records, an error matching transport.ErrClosed once closed, and any
	// error Emit returns, unchanged, as soon as Emit returns it. A record
	// for which Emit returned an error has been handed over. A record
	// whose Emit panicked has not: the next Drain hands it over first.
	Drain(emit *Emitter) error
	// Interrupt makes a blocked or future Drain return (ErrWake or nil)
	// soon. It is safe to call from any goroutine.
	Interrupt()
}

// Loop runs the Consume algorithm every transport shares: lifecycle checks,
// context cancellation, counting, and error wrapping. name prefixes errors
// ("perfbuf", "ringbuf").
func Loop(ctx context.Context, name string, lc *Lifecycle, src Source, c *Counters, h transport.Handler) error {
	if ctx == nil {
		return fmt.Errorf("%s: consume: nil context: %w", name, transport.ErrInvalidOptions)
	}
	if h == nil {
		return fmt.Errorf("%s: consume: nil handler: %w", name, transport.ErrInvalidOptions)
	}
	if err := lc.Begin(); err != nil {
		return fmt.Errorf("%s: consume: %w", name, err)
	}
	defer lc.End()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: consume: %w", name, err)
	}

	var cancelled atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		cancelled.Store(true)
		src.Interrupt()
	})
	defer stop()

	idle := idle.Func(ctx)
	emit := &Emitter{h: h, cancelled: &cancelled, ctx: ctx, closed: lc.Done()}
	// A panicking handler unwinds through Drain: still publish what was
	// counted (the other paths publish after each Drain).
	defer emit.publish(c)

	for {
		err := src.Drain(emit)
		emit.publish(c)
		switch {
		case emit.handlerErr != nil:
			return fmt.Errorf("%s: handler: %w", name, emit.handlerErr)
		case err == nil || err == ErrWake || err == errStop:
			if err := idle(); err != nil && !cancelled.Load() {
				return fmt.Errorf("%s: handler: %w", name, err)
			}
			if cancelled.Load() || ctx.Err() != nil {
				return fmt.Errorf("%s: consume: %w", name, ctxErr(ctx))
			}
			if lc.Closed() {
				return fmt.Errorf("%s: consume: %w", name, transport.ErrClosed)
			}
		case errors.Is(err, transport.ErrClosed) || lc.Closed():
			return fmt.Errorf("%s: consume: %w", name, transport.ErrClosed)
		default:
			return fmt.Errorf("%s: read: %w", name, err)
		}
	}
}

// ctxErr is ctx.Err(), which callers test with errors.Is, joined with the
// cancellation cause when there is a different one.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// Emitter is what a Source hands its records to: it counts them, calls the
// handler and tells the source to stop when the context is done. It is a
// concrete type with a small method, not a closure, so that a record costs
// the source one direct call and the handler's indirect one.
type Emitter struct {
	h          transport.Handler
	cancelled  *atomic.Bool
	handlerErr error
	// ctx and closed are looked at directly every checkEvery records:
	// cancelled is set by a context.AfterFunc goroutine, which may run
	// only after a handler that cancelled its own context has received
	// thousands more records.
	ctx       context.Context
	closed    <-chan struct{}
	unchecked int
	// Counted here and published once per Drain: an atomic add per record
	// is a measurable share of the cost of a record.
	records, bytes uint64
}

// Emit hands r to the handler. A non-nil error (the handler's, or errStop
// once the context is done) means: stop and return it from Drain; r has been
// handed over either way.
func (e *Emitter) Emit(r transport.Record) error {
	err := e.h(r)
	// Counted once the handler has returned: a record whose handler
	// panics is handed over again by the next Consume (every Source keeps
	// it) and counted then, once.
	e.records++
	e.bytes += uint64(len(r.Sample))
	if err != nil {
		e.handlerErr = err
		return err
	}
	// Checked after the handler, never instead of it: the source has
	// already taken r out of its buffer, so refusing it would lose it.
	if e.cancelled.Load() {
		return errStop
	}
	if e.unchecked++; e.unchecked >= checkEvery {
		e.unchecked = 0
		if e.stopRequested() {
			return errStop
		}
	}
	return nil
}

// checkEvery is how many records a Drain may hand over between direct looks
// at the context and Close (the bound Consumer.Consume documents).
const checkEvery = 64

// stopRequested reports whether the context is done or the consumer closed.
func (e *Emitter) stopRequested() bool {
	if e.ctx != nil && e.ctx.Err() != nil {
		return true
	}
	select {
	case <-e.closed:
		return true
	default:
		return false
	}
}

// NewEmitter returns an Emitter that hands records to h, for tests of a
// Source outside Loop.
func NewEmitter(h transport.Handler) *Emitter { return &Emitter{h: h, cancelled: new(atomic.Bool)} }

func (e *Emitter) publish(c *Counters) {
	c.Records.Add(e.records)
	c.Bytes.Add(e.bytes)
	e.records, e.bytes = 0, 0
}
