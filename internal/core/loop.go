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
	// records are already waiting), then calls emit for each waiting record,
	// in order. It returns nil after a batch, ErrWake when woken without
	// records, an error matching ErrClosed once closed, and any error emit
	// returns, unchanged, as soon as emit returns it.
	Drain(emit func(Record) error) error
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
	var handlerErr error
	// Counted locally and published once per batch: an atomic add per
	// record is a measurable share of the cost of a record.
	var records, bytes uint64
	// A panicking handler unwinds through Drain: still publish what it
	// counted (the other paths publish after each Drain).
	defer func() {
		c.Records.Add(records)
		c.Bytes.Add(bytes)
	}()
	// Sources treat a record for which emit returned an error as handed
	// over, so emit checks for cancellation after the handler, never
	// instead of it: refusing a record here would lose it silently.
	emit := func(r Record) error {
		records++
		bytes += uint64(len(r.Sample))
		if err := h(r); err != nil {
			handlerErr = err
			return err
		}
		if cancelled.Load() {
			return errStop
		}
		return nil
	}

	for {
		err := src.Drain(emit)
		c.Records.Add(records)
		c.Bytes.Add(bytes)
		records, bytes = 0, 0
		switch {
		case handlerErr != nil:
			return fmt.Errorf("%s: handler: %w", name, handlerErr)
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
