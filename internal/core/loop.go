package core

import (
	"github.com/bpfstream/bpfstream/internal/lend"
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
	// records are already waiting), then hands each waiting record over,
	// in order, with emit.Emit (or the run primitives, see Handler). It returns nil after a batch, ErrWake when woken
	// without records, an error matching transport.ErrClosed once closed, and any
	// error Emit returns, unchanged, as soon as Emit returns it. A record
	// for which Emit returned an error has been handed over. A record
	// whose Emit panicked has not: the next Drain hands it over first.
	Drain(emit *Emitter) error
	// Interrupt makes a blocked or future Drain return (ErrWake or nil)
	// soon. It is safe to call from any goroutine.
	Interrupt()
}

// BatchReceiver returns the transport.Receiver that hands batches to h (none
// when h is nil).
func BatchReceiver(h transport.BatchHandler) transport.Receiver {
	if h == nil {
		return transport.Receiver{}
	}
	return transport.Receiver{Batch: func(recs []transport.Record, _ transport.Loan) error { return h(recs) }}
}

// LoopTo runs the Consume algorithm every transport shares: lifecycle checks,
// context cancellation, counting, and error wrapping, for a
// transport.Receiver (transport.ConsumerTo). name prefixes errors
// ("perfbuf", "ringbuf"). A source
// that hands over slices (EmitBatch) gives r.Batch up to BatchLimit records
// per call, one call per record otherwise; with r.Borrow, it offers each
// slice for lending in the Emitter's Slot.
func LoopTo(ctx context.Context, name string, lc *Lifecycle, src Source, c *Counters, r transport.Receiver) error {
	switch {
	case r.Record == nil && r.Batch == nil:
		return fmt.Errorf("%s: consume: nil handler: %w", name, transport.ErrInvalidOptions)
	case r.Record != nil && r.Batch != nil:
		return fmt.Errorf("%s: consume: both a record and a batch handler; set one: %w", name, transport.ErrInvalidOptions)
	}
	e := &Emitter{h: r.Record, idle: r.Idle}
	if r.Batch != nil {
		// Sources that hand over one record at a time call Emit, which
		// calls e.h: the batch handler with a slice of one.
		e.h, e.bh, e.limit, e.max = PerRecord(r.Batch), r.Batch, DefaultBatchRecords, r.Limit
		if r.Borrow {
			e.slot = new(lend.Slot[transport.Record])
			e.loan.slot = e.slot
		}
		e.updateLimit()
	}
	return run(ctx, name, lc, src, c, e)
}

// DefaultBatchRecords is the most records of one batch handler call when the
// caller does not say.
const DefaultBatchRecords = 256

// PerRecord adapts a Receiver's Batch to a Handler that calls it with one
// record at a time and no Loan: for sources that hand over one record at a
// time, and for consumers whose records pass through a stage first
// (re-ordering). A nil h gives a nil Handler.
func PerRecord(h func([]transport.Record, transport.Loan) error) transport.Handler {
	if h == nil {
		return nil
	}
	var one [1]transport.Record
	return func(r transport.Record) error {
		one[0] = r
		err := h(one[:], nil)
		one[0] = transport.Record{}
		return err
	}
}

func run(ctx context.Context, name string, lc *Lifecycle, src Source, c *Counters, emit *Emitter) error {
	if ctx == nil {
		return fmt.Errorf("%s: consume: nil context: %w", name, transport.ErrInvalidOptions)
	}
	if err := lc.Begin(); err != nil {
		return &consumeError{name, "consume", err}
	}
	defer lc.End()
	if err := ctx.Err(); err != nil {
		return &consumeError{name, "consume", err}
	}

	var cancelled atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		cancelled.Store(true)
		src.Interrupt()
	})
	defer stop()

	emit.cancelled, emit.ctx, emit.closed = &cancelled, ctx, lc.Done()
	// A panicking handler unwinds through Drain: still publish what was
	// counted (the other paths publish after each Drain).
	defer emit.publish(c)

	for {
		err := src.Drain(emit)
		emit.publish(c)
		switch {
		case emit.handlerErr != nil:
			return &consumeError{name, "handler", emit.handlerErr}
		case err == nil || err == ErrWake || err == errStop:
			if emit.idle != nil {
				if err := emit.idle(); err != nil && !cancelled.Load() {
					return &consumeError{name, "handler", err}
				}
				emit.updateLimit()
			}
			if cancelled.Load() || ctx.Err() != nil {
				return &consumeError{name, "consume", ctxErr(ctx)}
			}
			if lc.Closed() {
				return &consumeError{name, "consume", transport.ErrClosed}
			}
		case errors.Is(err, transport.ErrClosed) || lc.Closed():
			return &consumeError{name, "consume", transport.ErrClosed}
		default:
			return &consumeError{name, "read", err}
		}
	}
}

// consumeError is the error that ends a Consume: "<name>: <op>: <err>",
// wrapping err. It is built without fmt, as one small allocation: a handler
// that ends Consume by returning an error (the usual way to stop after some
// records) gets it back sooner (BENCHMARKS.md, "Choices in the code").
type consumeError struct {
	name, op string
	err      error
}

func (e *consumeError) Error() string { return e.name + ": " + e.op + ": " + e.err.Error() }
func (e *consumeError) Unwrap() error { return e.err }

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
	bh         func([]transport.Record, transport.Loan) error // set for a batch receiver
	limit      int                                            // records per bh call
	max        func() int                                     // when set and positive, overrides limit
	batchLimit int                                            // limit or max(), as of the last bh call
	idle       func() error                                   // nil: no idle hook
	slot       *lend.Slot[transport.Record]                   // non-nil: offer each batch for lending
	loan       loan                                           // the Loan that hands out slot's offers
	cancelled  *atomic.Bool
	handlerErr error
	// ctx and closed are looked at directly every checkEvery records:
	// cancelled is set by a context.AfterFunc goroutine, which may run
	// only after a handler that cancelled its own context has received
	// thousands more records.
	ctx    context.Context
	closed <-chan struct{}
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
	e.Handed(len(r.Sample))
	if err != nil {
		return e.Failed(err)
	}
	// Checked after the handler, never instead of it: the source has
	// already taken r out of its buffer, so refusing it would lose it.
	// records restarts at every Drain, which the loop follows with its own
	// look at ctx and Close.
	if e.Due() {
		return e.Checkpoint()
	}
	return nil
}

// The native readers walk their buffers in runs and call the handler
// themselves, with the primitives below, instead of one Emit per record:
// within a run a record costs its handler call and the count, nothing else.
//
//	h := emit.Handler()
//	for until := emit.Until(); emit.Count() < until && <records left>; {
//		err := h(rec)
//		emit.Handed(len(rec.Sample))
//		if err != nil {
//			return emit.Failed(err)
//		}
//	}
//	if emit.Due() {
//		if err := emit.Checkpoint(); err != nil { ... }
//	}

// Handler returns the per-record handler.
func (e *Emitter) Handler() transport.Handler { return e.h }

// Count is the number of records handed over in this Drain so far.
func (e *Emitter) Count() uint64 { return e.records }

// Until is the Count at which the next Checkpoint is due: a source may hand
// over records with Handler until Count reaches it (at most checkEvery
// records) before it must look at Due. Compared with Count after each
// record, it keeps one value fewer live across the handler call than a
// count down would.
func (e *Emitter) Until() uint64 { return e.records + checkEvery - e.records%checkEvery }

// Handed counts a record of nbytes whose handler has returned.
func (e *Emitter) Handed(nbytes int) {
	e.records++
	e.bytes += uint64(nbytes)
}

// Failed records the handler's error err and returns it.
func (e *Emitter) Failed(err error) error {
	e.handlerErr = err
	return err
}

// Due reports whether a Checkpoint is due: Count has reached the Until of
// the last one.
func (e *Emitter) Due() bool { return e.records%checkEvery == 0 }

// Checkpoint returns errStop once the context is done or the consumer is
// closed: the source must then stop and return it from Drain.
func (e *Emitter) Checkpoint() error {
	if e.cancelled.Load() || e.stopRequested() {
		return errStop
	}
	return nil
}

// Batched reports whether the handler takes batches: a source that can
// should then gather records and hand them over with EmitBatch.
func (e *Emitter) Batched() bool { return e.bh != nil }

// BatchLimit is the most records one EmitBatch may hand over now. The batch
// handler of a stream may change it between calls (to the room left in the
// batch it is gathering).
func (e *Emitter) BatchLimit() int { return e.batchLimit }

// updateLimit reads the receiver's limit (transport.Receiver.Limit), which
// changes only in its calls (Batch and Idle): once per call rather than once
// per record, as a reader looks at BatchLimit after each record it gathers.
func (e *Emitter) updateLimit() {
	e.batchLimit = e.limit
	if e.max != nil {
		if n := e.max(); n > 0 {
			e.batchLimit = n
		}
	}
}

// Slot returns the slot in which a source offers each batch for lending
// before EmitBatch, or nil when the handler does not keep batches.
func (e *Emitter) Slot() *lend.Slot[transport.Record] { return e.slot }

// EmitBatch hands recs, non-empty and at most BatchLimit records of one
// buffer, to the batch handler; nbytes is the length of their samples. Its
// result is Emit's: every record of recs has been handed over either way.
func (e *Emitter) EmitBatch(recs []transport.Record, nbytes uint64) error {
	var loan transport.Loan
	if e.slot.Offered() {
		loan = &e.loan
	}
	err := e.bh(recs, loan)
	e.updateLimit()
	// Counted once the handler has returned, as in Emit.
	e.records += uint64(len(recs))
	e.bytes += nbytes
	if err != nil {
		return e.Failed(err)
	}
	// As in Emit: a look each time the record count passes a multiple of
	// checkEvery.
	if (e.records-uint64(len(recs)))/checkEvery != e.records/checkEvery {
		return e.Checkpoint()
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
// Source outside LoopTo.
func NewEmitter(h transport.Handler) *Emitter { return &Emitter{h: h, cancelled: new(atomic.Bool)} }

// NewBatchEmitter returns an Emitter that hands batches of up to limit
// records to h, offering them in slot when it is not nil, for tests of a
// Source outside LoopTo.
func NewBatchEmitter(h transport.BatchHandler, limit int, slot *lend.Slot[transport.Record]) *Emitter {
	e := &Emitter{limit: limit, batchLimit: limit, slot: slot, cancelled: new(atomic.Bool)}
	e.bh = func(recs []transport.Record, _ transport.Loan) error { return h(recs) }
	e.loan.slot = slot
	return e
}

func (e *Emitter) publish(c *Counters) {
	c.Records.Add(e.records)
	c.Bytes.Add(e.bytes)
	e.records, e.bytes = 0, 0
}
