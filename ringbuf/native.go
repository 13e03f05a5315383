package ringbuf

import (
	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/ring"
)

// nativeBackend reads the ring(s) in place through bpfstream's own mmap
// reader (internal/ring): no copy, no lock and no syscall per record, the
// consumer position published once per slice of records.
type nativeBackend struct {
	*ring.Ringbuf
}

func newNativeBackend(rings []ringMap, opts Options, counters *core.Counters) (*nativeBackend, error) {
	rms := make([]ring.RingbufMap, len(rings))
	for i, rg := range rings {
		rms[i] = ring.RingbufMap{FD: rg.m.FD(), Size: int(rg.m.MaxEntries()), Source: rg.source, ID: uint32(rg.id), Name: rg.name}
	}
	rd, err := ring.NewRingbuf(rms, ring.Options{Interval: opts.DrainInterval, Coalesce: opts.Coalesce, Counters: counters})
	if err != nil {
		return nil, err
	}
	return &nativeBackend{rd}, nil
}

func (b *nativeBackend) size() int    { return b.Size() }
func (b *nativeBackend) pending() int { return b.Pending() }
func (b *nativeBackend) close() error { return b.Close() }
