package ringbuf

import (
	"github.com/cilium/ebpf"
	cilium "github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/ring"
	"github.com/bpfstream/bpfstream/transport"
)

// ciliumBackend reads through cilium/ebpf's ringbuf.Reader: the reference
// implementation, which copies each sample out of the ring.
type ciliumBackend struct {
	core.CopyDrain[cilium.Record]
	rd    *cilium.Reader
	claim *ring.Claim
}

func newCiliumBackend(m *ebpf.Map, opts Options, counters *core.Counters) (*ciliumBackend, error) {
	// Claimed as the native reader claims its rings (internal/ring):
	// ringbuf.Reader stores the consumer position before it returns a
	// record, so the claim ends when it is closed.
	var pos ring.Position
	if info, err := m.Info(); err == nil {
		id, _ := info.ID()
		pos = ring.RingPosition(uint32(id), info.Name)
	}
	claim, err := ring.ClaimPositions([]ring.Position{pos})
	if err != nil {
		return nil, err
	}
	rd, err := cilium.NewReader(m)
	if err != nil {
		claim.Release()
		return nil, err
	}
	sample := func(rec *cilium.Record) (transport.Record, bool) {
		return transport.Record{Sample: rec.RawSample, CPU: transport.NoCPU}, true
	}
	remaining := func(rec *cilium.Record) int { return rec.Remaining }
	return &ciliumBackend{
		CopyDrain: core.NewCopyDrain(rd, cilium.ErrFlushed, opts.DrainInterval, counters, sample, remaining),
		rd:        rd,
		claim:     claim,
	}, nil
}

func (b *ciliumBackend) Interrupt() { _ = b.rd.Flush() }

func (b *ciliumBackend) size() int { return b.rd.BufferSize() }

// pending must not run after close: cilium's AvailableBytes panics then.
func (b *ciliumBackend) pending() int { return b.rd.AvailableBytes() }

func (b *ciliumBackend) close() error {
	err := b.rd.Close()
	b.claim.Release()
	return err
}
