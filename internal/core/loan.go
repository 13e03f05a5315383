package core

import (
	"github.com/bpfstream/bpfstream/internal/lend"
	"github.com/bpfstream/bpfstream/transport"
)

// loan is the transport.Loan a batch is lent with: it keeps the offer a
// source made in slot (lend.Slot.Offer) before EmitBatch.
type loan struct{ slot *lend.Slot[transport.Record] }

// Keep implements transport.Loan.
func (l *loan) Keep(spare []transport.Record) transport.Lease {
	lease, ok := l.slot.Keep()
	if !ok {
		return noLease{} // kept already
	}
	if spare != nil {
		l.slot.Swap = spare
	}
	return lease
}

// noLease is the Lease of a second Keep of one offer: there is nothing to
// release.
type noLease struct{}

func (noLease) Release() {}
