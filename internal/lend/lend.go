// Package lend lets the receiver of a batch of records keep records that
// point into a kernel buffer after the batch handler returns. A native reader
// offers each batch it hands over (Slot.Offer); a receiver that keeps it
// (Slot.Keep) gets a Lease, and the buffer's consumer position, which tells
// the kernel what space it may reuse, then advances past that batch only once
// the lease and every older one of the same buffer are released, in whatever
// order they are released. The Ledger of each buffer does that bookkeeping,
// and keeps the buffer's mapping alive after its reader is closed until the
// last lease is released.
package lend

import (
	"sync"
	"sync/atomic"
)

// Ledger tracks the leases of one buffer and publishes its consumer position
// on their behalf. The reader calls Out on every publication and, while it
// is true, publishes through Publish instead of storing the position itself.
type Ledger struct {
	store func(pos uint64) // publishes pos to the kernel
	idle  func()           // called when the last outstanding lease is released

	out atomic.Bool // leases are outstanding: the ledger owns publication

	mu     sync.Mutex
	spans  []span // kept spans in buffer order; spans[0] has sequence base
	base   uint64
	read   uint64 // the reader's position: what it would publish
	pub    uint64 // what the ledger last stored
	final  func() // run by the release of the last lease after Close
	closed bool
}

// span is one lent batch's records: [start, end) in the buffer.
type span struct {
	start, end uint64
	released   bool
}

// NewLedger returns a Ledger that publishes through store. idle, if not nil,
// is called (on the releasing goroutine, without locks held) whenever a
// release leaves no lease outstanding while the reader is open.
func NewLedger(store func(pos uint64), idle func()) *Ledger {
	return &Ledger{store: store, idle: idle}
}

// Out reports whether leases are outstanding. Only the reader's goroutine
// makes it true (Keep runs in its handler); any goroutine may make it false.
// A nil Ledger (a buffer that cannot lend) has none.
func (l *Ledger) Out() bool { return l != nil && l.out.Load() }

// Publish records that the reader has handed over everything before pos and
// publishes what no outstanding lease holds back.
func (l *Ledger) Publish(pos uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pos > l.read {
		l.read = pos
	}
	l.publishLocked()
}

// publishLocked stores the oldest outstanding span's start, or the reader's
// position when none is outstanding; the position never moves backwards.
func (l *Ledger) publishLocked() {
	target := l.read
	if len(l.spans) > 0 {
		target = l.spans[0].start
	}
	if target > l.pub {
		l.store(target)
		l.pub = target
	}
	// Cleared only after the store, under the lock: a reader that sees
	// false stores its own, newer position after this one.
	l.out.Store(len(l.spans) > 0)
}

// Close marks the buffer's reader closed. final frees the buffer (unmaps
// it); Close runs it now when no lease is outstanding and reports true, or
// else the release of the last lease runs it, after publishing the reader's
// position.
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

// keep registers span [start, end), of which the reader has published up
// to pub, and returns its lease.
func (l *Ledger) keep(start, end, pub uint64) Lease {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.spans) == 0 {
		// No lease was out, so the reader stored pub itself: catch
		// up. (While leases are out, the reader's publications go
		// through Publish and l.pub is what was stored.)
		l.pub = max(l.pub, pub)
	}
	l.read = max(l.read, start)
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
		l.read = max(l.read, l.spans[n].end)
		n++
	}
	if n > 0 {
		k := copy(l.spans, l.spans[n:])
		l.spans = l.spans[:k]
		l.base += uint64(n)
	}
	var final, idle func()
	if len(l.spans) == 0 {
		if l.closed {
			final, l.final = l.final, nil
		} else {
			idle = l.idle
		}
	}
	l.publishLocked()
	l.mu.Unlock()
	if final != nil {
		final()
	}
	if idle != nil {
		idle()
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

	l               *Ledger
	start, end, pub uint64
}

// Offer offers the batch being handed over: its records lie in [start,
// end) of l's buffer, whose reader has published up to pub.
func (s *Slot[R]) Offer(l *Ledger, start, end, pub uint64) {
	s.l, s.start, s.end, s.pub = l, start, end, pub
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
	return l.keep(s.start, s.end, s.pub), true
}
