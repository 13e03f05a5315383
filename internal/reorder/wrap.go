package reorder

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// Holder runs a consumer's Consume calls through a Stage and settles the
// records the stage holds when Consume ends or the consumer closes, so that
// Stats.Records and Bytes count exactly what the handler received:
//
//   - Consume ending because its context is done, the consumer was closed or
//     the reader failed hands every held record to the handler before it
//     returns (they are out of the kernel already).
//   - Consume ending with an error from the handler (or the idle hook) does
//     not call the handler again: held records stay for the next Consume.
//   - A panicking handler leaves its record in the stage, to be handed over
//     again (and counted once) by the next Consume.
//   - Records still held when the consumer closes are counted in Lost.
type Holder struct {
	stage    *Stage
	key      func(transport.Record) int
	counters *core.Counters
	// pushed is what the loop counts: records entering the stage, which
	// Stats does not report.
	pushed core.Counters

	mu     sync.Mutex
	busy   bool // a Consume owns the stage
	closed bool
}

// NewHolder returns a Holder for s; key picks each record's stream, and
// counters are the consumer's (Records, Bytes, Late and Lost are written).
func NewHolder(s *Stage, key func(transport.Record) int, counters *core.Counters) *Holder {
	return &Holder{stage: s, key: key, counters: counters}
}

// Loop is the consumer's consume loop (core.LoopTo on its source) with the
// counters it is to count handed-over records in.
type Loop func(ctx context.Context, r transport.Receiver, c *core.Counters) error

// Consume runs loop with records passing through the stage on their way to
// r, one record per call (the stage's records own their bytes: nothing is
// lent). r.Idle, when set, is called after the stage has released what it
// may. name prefixes errors.
func (k *Holder) Consume(ctx context.Context, name string, r transport.Receiver, loop Loop) error {
	h, idle := r.Record, r.Idle
	if r.Batch != nil {
		h = core.PerRecord(r.Batch)
	}
	if (r.Record == nil) == (r.Batch == nil) {
		return loop(ctx, r, k.counters) // the loop reports it
	}
	k.mu.Lock()
	if k.busy {
		k.mu.Unlock()
		return fmt.Errorf("%s: consume: %w", name, transport.ErrBusy)
	}
	k.busy = true
	k.mu.Unlock()
	defer k.end() // also when the handler panics

	s, late := k.stage, &k.counters.Late
	var stopped bool // the handler or the idle hook returned an error
	deliver := func(r transport.Record) error {
		err := h(r)
		// Counted once the handler has returned: a record whose
		// handler panics stays in the stage and is counted when it is
		// handed over again.
		k.counters.Records.Add(1)
		k.counters.Bytes.Add(uint64(len(r.Sample)))
		if err != nil {
			stopped = true
		}
		return err
	}
	// Held records are released from the idle hook too, which the
	// consumer's drain timer keeps calling while no records arrive.
	release := func() error {
		err := s.Release(deliver)
		late.Store(s.late)
		if err != nil {
			return err
		}
		if idle == nil {
			return nil
		}
		if err := idle(); err != nil {
			stopped = true
			return err
		}
		return nil
	}
	push := func(r transport.Record) error {
		err := s.Push(r, k.key(r), deliver)
		late.Store(s.late)
		return err
	}
	err := loop(ctx, transport.Receiver{Record: push, Idle: release}, &k.pushed)
	if stopped {
		return err
	}
	ferr := s.Flush(deliver)
	late.Store(s.late)
	if ferr != nil {
		return fmt.Errorf("%s: handler: %w", name, ferr)
	}
	return err
}

func (k *Holder) end() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.busy = false
	if k.closed {
		k.discard()
	}
}

// Close counts the records still held in Lost, now or, while a Consume runs,
// when it returns. Call it when the consumer closes.
func (k *Holder) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	if !k.busy {
		k.discard()
	}
}

func (k *Holder) discard() {
	k.stage.Discard(func(r transport.Record) { k.counters.AddLost(int(r.CPU), 1) })
}

// DrainTimer validates o (nil means no stage) and returns the drain interval
// a consumer whose own interval is interval needs so that held records leave
// within about the window: a quarter of the window, at least a millisecond,
// unless interval is already shorter. name prefixes errors.
func DrainTimer(o *transport.Reorder, name string, interval time.Duration) (time.Duration, error) {
	if o == nil {
		return interval, nil
	}
	if o.Timestamp == nil {
		return 0, fmt.Errorf("%s: Options.Reorder.Timestamp is nil, want the function that reads a record's timestamp: %w", name, transport.ErrInvalidOptions)
	}
	if o.Window < 0 {
		return 0, fmt.Errorf("%s: Options.Reorder.Window is %s, want 0 (release at once) or more: %w", name, o.Window, transport.ErrInvalidOptions)
	}
	if o.Window == 0 {
		return interval, nil // nothing is held
	}
	d := max(o.Window/4, time.Millisecond)
	if interval > 0 && interval < d {
		return interval, nil
	}
	return d, nil
}
