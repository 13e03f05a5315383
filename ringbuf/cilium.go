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
	unfinished bool // b.rec was being handed over when its handler panicked
	rd         *cilium.Reader
	rec        cilium.Record
	counters   *core.Counters
	timer      core.DrainTimer
	claim      *ring.Claim
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
	return &ciliumBackend{rd: rd, counters: counters, timer: core.DrainTimer{Interval: opts.DrainInterval}, claim: claim}, nil
}

func (b *ciliumBackend) Drain(emit *core.Emitter) error {
	// We are the reader's only caller, so it is idle and SetDeadline
	// does not wait for its lock.
	if b.unfinished {
		// The handler of b.rec panicked: the reader has taken it out of
		// the buffer, so hand it over again before reading on.
		return b.emit(emit)
	}
	b.timer.Arm(b.rd.SetDeadline)
	for first := true; ; first = false {
		if err := b.rd.ReadInto(&b.rec); err != nil {
			return b.timer.ReadError(err, cilium.ErrFlushed)
		}
		if first {
			b.counters.Wakeups.Add(1)
		}
		if err := b.emit(emit); err != nil {
			return err
		}
		if b.rec.Remaining == 0 {
			return nil
		}
	}
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

// emit hands b.rec's sample over. b.unfinished stays set when the handler
// panics, so that the next Drain hands the same record over again.
func (b *ciliumBackend) emit(emit *core.Emitter) error {
	b.unfinished = true
	err := emit.Emit(transport.Record{Sample: b.rec.RawSample, CPU: transport.NoCPU})
	b.unfinished = false
	return err
}
