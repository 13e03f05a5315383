package ringbuf

import (
	"errors"
	"os"
	"time"

	"github.com/cilium/ebpf"
	cilium "github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream/internal/core"
)

// ciliumBackend reads through cilium/ebpf's ringbuf.Reader: the reference
// implementation, which copies each sample out of the ring.
type ciliumBackend struct {
	rd           *cilium.Reader
	rec          cilium.Record
	counters     *core.Counters
	interval     time.Duration
	needDeadline bool
}

func newCiliumBackend(m *ebpf.Map, opts Options, counters *core.Counters) (*ciliumBackend, error) {
	rd, err := cilium.NewReader(m)
	if err != nil {
		return nil, err
	}
	return &ciliumBackend{rd: rd, counters: counters, interval: opts.DrainInterval, needDeadline: true}, nil
}

func (b *ciliumBackend) Drain(emit func(core.Record) error) error {
	if b.interval > 0 && b.needDeadline {
		// The reader is not blocked (we are its only caller), so
		// SetDeadline does not wait for its lock.
		b.rd.SetDeadline(time.Now().Add(b.interval))
		b.needDeadline = false
	}
	for first := true; ; first = false {
		if err := b.rd.ReadInto(&b.rec); err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				b.needDeadline = true
				return core.ErrWake
			case errors.Is(err, cilium.ErrFlushed):
				return core.ErrWake
			case errors.Is(err, os.ErrClosed):
				return core.ErrClosed
			}
			return err
		}
		if first {
			b.counters.Wakeups.Add(1)
		}
		if err := emit(core.Record{Sample: b.rec.RawSample, CPU: core.NoCPU}); err != nil {
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

func (b *ciliumBackend) close() error { return b.rd.Close() }
