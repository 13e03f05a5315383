package ring

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/lend"
	"github.com/bpfstream/bpfstream/transport"
)

// TestConsumerPositionNeverMovesBack: a batch handler keeps a lent batch and
// then panics, so the batch is handed over again by the next Drain; its
// lease, released in between, publishes the batch's end. The reader's own
// publications while it hands the batch over again must not move the
// position the kernel sees back below that.
func TestConsumerPositionNeverMovesBack(t *testing.T) {
	tr := newTestRing(t, 4096, 0)
	tr.r.opts.PublishBytes = 8 // publish after every batch
	for range 4 {
		tr.commit(16) // 24-byte records at 0, 24, 48, 72
	}
	tr.r.rings[0].position.init(&tr.cons, 0, nil)

	slot := &lend.Slot[transport.Record]{}
	var lease lend.Lease
	var seen uintptr // the highest position the kernel has seen so far
	calls := 0
	handler := func(recs []transport.Record) error {
		calls++
		require.GreaterOrEqual(t, tr.cons, seen, "call %d: position moved back", calls)
		seen = max(seen, tr.cons)
		if calls == 1 {
			lease, _ = slot.Keep()
			panic("handler")
		}
		return nil
	}

	func() {
		defer func() { require.Equal(t, "handler", recover()) }()
		_ = tr.r.Drain(core.NewBatchEmitter(handler, 2, slot))
	}()
	lease.Release() // publishes the kept batch's end, 48
	require.Equal(t, uintptr(48), tr.cons)
	seen = tr.cons
	// The batch comes back one record at a time.
	require.NoError(t, tr.r.Drain(core.NewBatchEmitter(handler, 1, slot)))
	require.GreaterOrEqual(t, tr.cons, seen, "position moved back after the last call")
	require.Equal(t, uintptr(96), tr.cons)
}
