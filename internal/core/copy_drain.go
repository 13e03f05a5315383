package core

import (
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

// CopyingReader is a reader that copies each record out of the buffer into
// a record of type R, and blocks with an absolute deadline: cilium/ebpf's
// perf.Reader and ringbuf.Reader.
type CopyingReader[R any] interface {
	ReadInto(rec *R) error
	SetDeadline(t time.Time)
}

// CopyDrain is the drain of a CopyingReader, which both transports' cilium
// backends share: it reads until the reader has nothing more waiting, and
// hands each sample over.
type CopyDrain[R any] struct {
	Reader CopyingReader[R]
	// Flushed is the reader's error for a Flush (its ErrFlushed).
	Flushed  error
	Timer    DrainTimer
	Counters *Counters
	// Sample returns the sample rec holds, ok false for a record that holds
	// none (a perf loss report, which Sample counts).
	Sample func(rec *R) (r transport.Record, ok bool)
	// Remaining returns how much is left to read after rec.
	Remaining func(rec *R) int

	rec     R
	pending transport.Record
	// unfinished: pending was being handed over when its handler panicked.
	// The reader has already taken it out of the buffer, so the next Drain
	// hands it over again before reading on.
	unfinished bool
}

// NewCopyDrain returns the drain of rd, whose Flush makes it return flushed,
// with a drain timer of interval (zero: none); see CopyDrain for sample and
// remaining.
func NewCopyDrain[R any](rd CopyingReader[R], flushed error, interval time.Duration, counters *Counters,
	sample func(rec *R) (transport.Record, bool), remaining func(rec *R) int) CopyDrain[R] {
	return CopyDrain[R]{Reader: rd, Flushed: flushed, Timer: DrainTimer{Interval: interval}, Counters: counters, Sample: sample, Remaining: remaining}
}

// Drain implements Source.Drain.
func (d *CopyDrain[R]) Drain(emit *Emitter) error {
	// We are the reader's only caller, so it is idle and SetDeadline
	// does not wait for its lock.
	if d.unfinished {
		return d.emit(emit)
	}
	d.Timer.Arm(d.Reader.SetDeadline)
	for first := true; ; first = false {
		if err := d.Reader.ReadInto(&d.rec); err != nil {
			return d.Timer.ReadError(err, d.Flushed)
		}
		if first {
			d.Counters.Wakeups.Add(1)
		}
		if r, ok := d.Sample(&d.rec); ok {
			d.pending = r
			if err := d.emit(emit); err != nil {
				return err
			}
		}
		if d.Remaining(&d.rec) == 0 {
			return nil
		}
	}
}

// emit hands the pending sample over; unfinished stays set when the
// handler panics.
func (d *CopyDrain[R]) emit(emit *Emitter) error {
	d.unfinished = true
	err := emit.Emit(d.pending)
	d.unfinished = false
	return err
}
