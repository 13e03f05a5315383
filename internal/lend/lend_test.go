package lend

import (
	"sync"
	"testing"
)

// recorder is a buffer's kernel-visible position, put as a reader's
// position.put does: only forward.
type recorder struct {
	mu     sync.Mutex
	pos    uint64
	stores []uint64
}

func (r *recorder) put(pos uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pos > r.pos {
		r.pos = pos
		r.stores = append(r.stores, pos)
	}
}

func (r *recorder) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// keep offers [start, end) in a slot and keeps it.
func keep(t *testing.T, l *Ledger, start, end uint64) Lease {
	t.Helper()
	var s Slot[int]
	s.Offer(l, start, end)
	lease, ok := s.Keep()
	if !ok {
		t.Fatal("Keep after Offer: not ok")
	}
	if _, ok := s.Keep(); ok {
		t.Fatal("second Keep of one offer: ok")
	}
	return lease
}

// Leases released out of order free the buffer in order: the position stays
// at the oldest unreleased lease, and moves once it is released.
func TestReleaseOutOfOrder(t *testing.T) {
	var r recorder
	moved := 0
	l := NewLedger(r.put, func() { moved++ })
	a := keep(t, l, 0, 100)
	b := keep(t, l, 100, 200)
	c := keep(t, l, 250, 300) // 200-250 was not kept (copied, or lost records)
	if !l.Out() {
		t.Fatal("Out false with leases outstanding")
	}
	l.Publish(400) // the reader read on
	if got := r.last(); got != 0 {
		t.Fatalf("published %d with the lease at 0 outstanding", got)
	}
	c.Release()
	b.Release()
	if got := r.last(); got != 0 || moved != 0 {
		t.Fatalf("published %d, moved %d with the lease at 0 outstanding", got, moved)
	}
	b.Release() // idempotent
	a.Release()
	if got := r.last(); got != 400 {
		t.Fatalf("published %d after every release, want the reader's 400", got)
	}
	if l.Out() || moved != 1 {
		t.Fatalf("Out %v, moved called %d times after the last release, want false, 1", l.Out(), moved)
	}
	Lease{}.Release() // the zero Lease is a no-op
}

// A release publishes at once, on the releasing goroutine: the buffer's
// space is free when Release returns.
func TestReleasePublishesAtOnce(t *testing.T) {
	var r recorder
	l := NewLedger(r.put, nil)
	a := keep(t, l, 0, 100)
	keep(t, l, 100, 200)
	l.Publish(200)
	done := make(chan struct{})
	go func() { defer close(done); a.Release() }()
	<-done
	if got := r.last(); got != 100 {
		t.Fatalf("published %d after releasing the first lease, want 100", got)
	}
}

// Close with leases out defers final until the last release, which
// publishes the reader's last position first; without leases, Close runs
// final at once.
func TestCloseDefersFinal(t *testing.T) {
	var r recorder
	l := NewLedger(r.put, nil)
	a := keep(t, l, 0, 100)
	l.Publish(150)
	finals := 0
	if l.Close(func() {
		if r.last() != 150 {
			t.Errorf("final ran with the position at %d, want 150", r.last())
		}
		finals++
	}) || finals != 0 {
		t.Fatal("Close ran final with a lease outstanding")
	}
	done := make(chan struct{})
	go func() { defer close(done); a.Release() }() // from another goroutine
	<-done
	if finals != 1 {
		t.Fatalf("after the last release: final ran %d times, want 1", finals)
	}
	a.Release()
	if finals != 1 {
		t.Fatal("final ran again")
	}
	l2 := NewLedger(r.put, nil)
	if !l2.Close(func() { finals++ }) || finals != 2 {
		t.Fatal("Close without leases did not run final at once")
	}
	var nl *Ledger
	if nl.Out() || !nl.Close(func() { finals++ }) || finals != 3 {
		t.Fatal("nil Ledger: Out or Close wrong")
	}
}

// Nothing is on offer without Offer, or after Withdraw.
func TestSlotWithoutOffer(t *testing.T) {
	var s *Slot[int]
	if _, ok := s.Keep(); ok {
		t.Fatal("nil slot: Keep ok")
	}
	s = &Slot[int]{}
	if _, ok := s.Keep(); ok {
		t.Fatal("Keep without Offer: ok")
	}
	s.Offer(NewLedger(func(uint64) {}, nil), 0, 8)
	s.Withdraw()
	if _, ok := s.Keep(); ok {
		t.Fatal("Keep after Withdraw: ok")
	}
}
