package lend

import (
	"sync"
	"testing"
)

// recorder is a buffer's kernel-visible position.
type recorder struct {
	mu     sync.Mutex
	stores []uint64
}

func (r *recorder) store(pos uint64) {
	r.mu.Lock()
	r.stores = append(r.stores, pos)
	r.mu.Unlock()
}

func (r *recorder) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.stores) == 0 {
		return 0
	}
	return r.stores[len(r.stores)-1]
}

// keep offers [start, end) in a slot and keeps it.
func keep(t *testing.T, l *Ledger, start, end, pub uint64) Lease {
	t.Helper()
	var s Slot[int]
	s.Offer(l, start, end, pub)
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
// at the oldest unreleased lease, and never goes backwards.
func TestReleaseOutOfOrder(t *testing.T) {
	var r recorder
	idle := 0
	l := NewLedger(r.store, func() { idle++ })
	a := keep(t, l, 0, 100, 0)
	b := keep(t, l, 100, 200, 0)
	c := keep(t, l, 250, 300, 0) // 200-250 was not kept (copied, or lost records)
	if !l.Out() {
		t.Fatal("Out false with leases outstanding")
	}
	l.Publish(400) // the reader read on
	if got := r.last(); got != 0 {
		t.Fatalf("published %d with the lease at 0 outstanding", got)
	}
	c.Release()
	b.Release()
	if got := r.last(); got != 0 {
		t.Fatalf("published %d with the lease at 0 outstanding", got)
	}
	b.Release() // idempotent
	a.Release()
	if got := r.last(); got != 400 {
		t.Fatalf("published %d after every release, want the reader's 400", got)
	}
	if l.Out() || idle != 1 {
		t.Fatalf("Out %v, idle called %d times after the last release, want false, 1", l.Out(), idle)
	}
	for i := 1; i < len(r.stores); i++ {
		if r.stores[i] < r.stores[i-1] {
			t.Fatalf("position went backwards: %v", r.stores)
		}
	}
}

// A lease released before a newer one is taken moves the position to its
// end at once; the reader's direct publications (no lease out) are caught up
// with, so a later release never moves the position back.
func TestReleaseInOrderAndCatchUp(t *testing.T) {
	var r recorder
	l := NewLedger(r.store, nil)
	a := keep(t, l, 0, 100, 0)
	a.Release()
	if got := r.last(); got != 100 {
		t.Fatalf("published %d, want 100", got)
	}
	// The reader stores 500 itself (no lease out), then lends [500, 600).
	b := keep(t, l, 500, 600, 500)
	b.Release()
	if got := r.last(); got != 600 {
		t.Fatalf("published %v, want ... 600", r.stores)
	}
	Lease{}.Release() // the zero Lease is a no-op
}

// Close with leases out defers final until the last release; without, it
// runs it at once.
func TestCloseDefersFinal(t *testing.T) {
	var r recorder
	l := NewLedger(r.store, nil)
	a := keep(t, l, 0, 100, 0)
	l.Publish(100)
	finals := 0
	if l.Close(func() { finals++ }) || finals != 0 {
		t.Fatal("Close ran final with a lease outstanding")
	}
	done := make(chan struct{})
	go func() { defer close(done); a.Release() }() // from another goroutine
	<-done
	if finals != 1 || r.last() != 100 {
		t.Fatalf("after the last release: final ran %d times, position %d; want 1, 100", finals, r.last())
	}
	a.Release()
	if finals != 1 {
		t.Fatal("final ran again")
	}
	l2 := NewLedger(r.store, nil)
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
	s.Offer(NewLedger(func(uint64) {}, nil), 0, 8, 0)
	s.Withdraw()
	if _, ok := s.Keep(); ok {
		t.Fatal("Keep after Withdraw: ok")
	}
}

// The reader's own idea of its published position, while leases are out, is
// what it asked for, not what was stored: a lease kept then must not make
// the ledger believe the buffer was freed up to there.
func TestKeepWhileOut(t *testing.T) {
	var r recorder
	l := NewLedger(r.store, nil)
	a := keep(t, l, 0, 100, 0)
	l.Publish(100)                 // held back at 0
	b := keep(t, l, 100, 200, 100) // the reader believes 100 is published
	l.Publish(200)
	a.Release()
	if got := r.last(); got != 100 {
		t.Fatalf("published %v after releasing the first lease, want ... 100", r.stores)
	}
	b.Release()
	if got := r.last(); got != 200 {
		t.Fatalf("published %v after releasing both, want ... 200", r.stores)
	}
}
