package perfbuf

import (
	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/ring"
)

// nativeBackend reads the per-CPU buffers in place through bpfstream's own
// mmap reader (internal/ring): a sample is copied only when it wraps around
// the end of its buffer, and each buffer's tail is published once per slice
// of records.
type nativeBackend struct {
	*ring.Perf
}

// newNativeBackend opens the buffers of cpus (nil: every CPU of m).
func newNativeBackend(m *ebpf.Map, cpus []int, opts Options, counters *core.Counters) (*nativeBackend, error) {
	rd, err := ring.NewPerf(m, ring.PerfOptions{
		Options:      ring.Options{Interval: opts.DrainInterval, Counters: counters},
		BufferBytes:  RoundedSize(opts.PerCPUBytes),
		WakeupEvents: opts.WakeupEvents,
		WakeupBytes:  opts.WakeupBytes,
		OnLost:       opts.OnLost,
		CPUs:         cpus,
	})
	if err != nil {
		return nil, err
	}
	return &nativeBackend{rd}, nil
}

func (b *nativeBackend) bufferBytes() int { return b.BufferBytes() }
func (b *nativeBackend) close() error     { return b.Close() }
func (b *nativeBackend) lostKnown() bool  { return b.LostKnown() }
