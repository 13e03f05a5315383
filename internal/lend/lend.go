// Package lend lets the receiver of a batch of records keep records that
// point into a kernel buffer after the batch handler returns. A native reader
// offers each batch it hands over (Slot.Offer); a receiver that keeps it
// (Slot.Keep) gets a Lease, and the buffer's consumer position, which tells
// the kernel what space it may reuse, then advances past that batch only once
// the lease and every older one of the same buffer are released, in whatever
// order they are released. The Ledger of each buffer does that bookkeeping,
// and keeps the buffer's mapping alive after its reader is closed until the
// last lease is released.
//
// The consumer position has one writer at a time, and one function that
// writes it (the put a Ledger is made with). While no lease is out the
// reader's goroutine calls put itself; while leases are out (Out) the reader
// publishes through Publish, and put runs only under the Ledger's lock, from
// the reader or from a release on any goroutine, so that a release frees the
// buffer's space at once. Only the reader's goroutine makes Out true (a
// lease is kept in its handler), and Out becomes false only under the lock,
// after the last put of that period: the hand-over is ordered both ways.
package lend

import (
	"sync"
	"sync/atomic"
)

// Ledger tracks the leases of one buffer and, while they are out, publishes
// its consumer position on the reader's behalf.
type Ledger struct {
	put   func(pos uint64) // writes the position; never moves it backwards
	moved func()           // called when a release raised the floor, the reader open

	out atomic.Bool // leases are outstanding: the ledger owns publication

	mu     sync.Mutex
	spans  []span // kept spans in buffer order; spans[0] has sequence base
	base   uint64
	want   uint64 // the reader's position: what it would publish
	final  func() // run by the release of the last lease after Close
	closed bool
}

// span is one lent batch's records: [start, end) in the buffer.
type span struct {
	start, end uint64
	released   bool
}

// NewLedger returns a Ledger that publishes through put, which must never
// move the position backwards. moved, if not nil, is called (on the
// releasing goroutine, without locks held) whenever a release raises the
// floor while the reader is open.
func NewLedger(put func(pos uint64), moved func()) *Ledger {
	return &Ledger{put: put, moved: moved}
}

// Out reports whether leases are outstanding: the reader then publishes
// through Publish. A nil Ledger (a buffer that cannot lend) has none.
func (l *Ledger) Out() bool { return l != nil && l.out.Load() }

// Publish records that the reader has handed over everything before pos and
// publishes what no outstanding lease holds back.
func (l *Ledger) Publish(pos uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.want = max(l.want, pos)
	l.publishLocked()
}

// publishLocked puts the oldest outstanding span's start, or the reader's
// position when none is outstanding.
func (l *Ledger) publishLocked() {
	target := l.want
	if len(l.spans) > 0 {
		target = min(target, l.spans[0].start)
	}
	l.put(target)
	// Cleared only after the put, under the lock: a reader that sees
	// false puts its own, newer position after this one.
	l.out.Store(len(l.spans) > 0)
}

// Close marks the buffer's reader closed. final frees the buffer (unmaps
// it); Close runs it now when no lease is outstanding and reports true, or
// else the release of the last lease runs it, after publishing the reader's
// last position.
func (l *Ledger) Close(final func()) (ran bool) {
	if l == nil {
		final()
		return true
	}
	l.mu.Lock()
	if len(l.spans) > 0 {
		l.closed, l.final = true, final
		l.mu.Unlock()
		return false
	}
	l.closed = true
	l.mu.Unlock()
	final()
	return true
}

// keep registers span [start, end) and returns its lease. It runs on the
// reader's goroutine, which has published everything before start itself.
func (l *Ledger) keep(start, end uint64) Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.want = max(l.want, start)
	seq := l.base + uint64(len(l.spans))
	l.spans = append(l.spans, span{start: start, end: end})
	l.out.Store(true)
	return Lease{l: l, seq: seq}
}

// release releases the span with sequence seq; a second release is a no-op.
func (l *Ledger) release(seq uint64) {
	l.mu.Lock()
	i := seq - l.base
	if seq < l.base || i >= uint64(len(l.spans)) || l.spans[i].released {
		l.mu.Unlock()
		return
	}
	l.spans[i].released = true
	n := 0
	for n < len(l.spans) && l.spans[n].released {
		l.want = max(l.want, l.spans[n].end)
		n++
	}
	if n > 0 {
		k := copy(l.spans, l.spans[n:])
		l.spans = l.spans[:k]
		l.base += uint64(n)
	}
	l.publishLocked()
	var final, moved func()
	switch {
	case len(l.spans) == 0 && l.closed:
		final, l.final = l.final, nil
	case n > 0 && !l.closed:
		moved = l.moved
	}
	l.mu.Unlock()
	if final != nil {
		final()
	}
	if moved != nil {
		moved()
	}
}

// Lease keeps one lent batch's records in their buffer until Release. The
// zero Lease releases nothing.
type Lease struct {
	l   *Ledger
	seq uint64
}

// Release lets the buffer reuse the batch's space once every older lease of
// the same buffer is released too. It is idempotent and safe from any
// goroutine.
func (l Lease) Release() {
	if l.l != nil {
		l.l.release(l.seq)
	}
}

// Slot is where a reader offers the batch it is handing to a batch handler,
// and the handler keeps it. Only the consuming goroutine uses a Slot. R is
// the record type.
type Slot[R any] struct {
	// Swap, when a handler that kept a batch sets it, is an empty slice
	// the reader gathers its next batch in: the handler took the slice it
	// was given (instead of copying the records out of it) and gives
	// this one in exchange.
	Swap []R

	l          *Ledger
	start, end uint64
}

// Offer offers the batch being handed over: its records lie in [start,
// end) of l's buffer.
func (s *Slot[R]) Offer(l *Ledger, start, end uint64) {
	s.l, s.start, s.end = l, start, end
}

// Offered reports whether a batch is on offer. A nil Slot offers nothing.
func (s *Slot[R]) Offered() bool { return s != nil && s.l != nil }

// Withdraw ends the offer once the handler has returned.
func (s *Slot[R]) Withdraw() { s.l = nil }

// Keep takes the batch on offer, if any, and returns its lease; ok is false
// when nothing is on offer (the records are borrowed only until the handler
// returns, and must be copied to be kept).
func (s *Slot[R]) Keep() (lease Lease, ok bool) {
	if s == nil || s.l == nil {
		return Lease{}, false
	}
	l := s.l
	s.l = nil
	return l.keep(s.start, s.end), true
}
