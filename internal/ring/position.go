package ring

import "github.com/bpfstream/bpfstream/internal/lend"

// position is a buffer's consumer position as the kernel sees it: the word in
// the mapped buffer that tells the producer which space it may reuse.
//
// The rule: put is the only code that stores it, and put never moves it
// backwards. The reader's goroutine calls put while no batch of the buffer
// is lent; while batches are lent (lend.Ledger.Out) the Ledger calls it,
// under its lock, for the reader (which publishes through Ledger.Publish)
// and for a release on any goroutine. The Ledger's lock and Out hand the
// position from one writer to the other (see package lend), so there is one
// writer at a time, one value of what is stored (stored), and no way for two
// writers' ideas of it to disagree.
type position[P uint64 | uintptr] struct {
	// pub is the position the reader last asked to publish: what the walks
	// compare with (the publish threshold, the held-back record).
	pub P
	// stored is the value last put; owned like the position itself.
	stored P
	at     *P
	lent   *lend.Ledger
}

// init makes p the position at, whose current value is cur, with a Ledger
// for its lent batches (moved is the Ledger's, see lend.NewLedger). The
// Ledger keeps p: it must not move afterwards.
func (p *position[P]) init(at *P, cur P, moved func()) {
	*p = position[P]{pub: cur, stored: cur, at: at}
	p.lent = lend.NewLedger(func(pos uint64) { p.put(P(pos)) }, moved)
}

// store publishes pos unless it is already published. The producer reads the
// consumer position on every reserve, so each store costs it a cache miss,
// also a store of an unchanged value (see BENCHMARKS.md).
func (p *position[P]) store(pos P) {
	if pos != p.pub {
		p.pub = pos
		if p.lent.Out() {
			p.lent.Publish(uint64(pos))
			return
		}
		p.put(pos)
	}
}

// put stores pos for the kernel, only forward.
func (p *position[P]) put(pos P) {
	if pos > p.stored {
		p.stored = pos
		storeRelease(p.at, pos)
	}
}
