package core

import (
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
	// without records, an error matching ErrClosed once closed, and any
	// error Emit returns, unchanged, as soon as Emit returns it. A record
	// for which Emit returned an error has been handed over.
	Drain(emit *Emitter) error
	// Interrupt makes a blocked or future Drain return (ErrWake or nil)
	// soon. It is safe to call from any goroutine.
	Interrupt()
}

// Loop runs the Consume algorithm every transport shares: lifecycle checks,
// context cancellation, counting, and error wrapping. name prefixes errors
// ("perfbuf", "ringbuf").
func Loop(ctx context.Context, name string, lc *Lifecycle, src Source, c *Counters, h Handler) error {
	if h == nil {
		return fmt.Errorf("%s: consume: nil handler: %w", name, ErrInvalidOptions)
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

	idle := IdleFunc(ctx)
	emit := &Emitter{h: h, cancelled: &cancelled}
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
				return fmt.Errorf("%s: consume: %w", name, ErrClosed)
			}
		case errors.Is(err, ErrClosed) || lc.Closed():
			return fmt.Errorf("%s: consume: %w", name, ErrClosed)
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
	h          Handler
	cancelled  *atomic.Bool
	handlerErr error
	// Counted here and published once per Drain: an atomic add per record
	// is a measurable share of the cost of a record.
	records, bytes uint64
}

// Emit hands r to the handler. A non-nil error (the handler's, or errStop
// once the context is done) means: stop and return it from Drain; r has been
// handed over either way.
func (e *Emitter) Emit(r Record) error {
	e.records++
	e.bytes += uint64(len(r.Sample))
	if err := e.h(r); err != nil {
		e.handlerErr = err
		return err
	}
	// Checked after the handler, never instead of it: the source has
	// already taken r out of its buffer, so refusing it would lose it.
	if e.cancelled.Load() {
		return errStop
	}
	return nil
}

// NewEmitter returns an Emitter that hands records to h, for tests of a
// Source outside Loop.
func NewEmitter(h Handler) *Emitter { return &Emitter{h: h, cancelled: new(atomic.Bool)} }

func (e *Emitter) publish(c *Counters) {
	c.Records.Add(e.records)
	c.Bytes.Add(e.bytes)
	e.records, e.bytes = 0, 0
}
