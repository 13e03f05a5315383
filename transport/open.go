package transport

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
)

// OpenOptions configure Open. Only the options of the map's transport apply.
type OpenOptions struct {
	Perfbuf perfbuf.Options
	Ringbuf ringbuf.Options
}

// Open returns a Consumer for m chosen by its type: a perf event array gets a
// perfbuf consumer and a ring buffer a ringbuf consumer. Any other type (or a
// nil or closed map) is an error matching ErrMapType or ErrInvalidOptions.
func Open(m *ebpf.Map, opts OpenOptions) (Consumer, error) {
	if err := core.CheckMap("transport: open", m, ebpf.PerfEventArray, ebpf.RingBuf); err != nil {
		return nil, err
	}
	switch m.Type() {
	case ebpf.PerfEventArray:
		return perfbuf.New(m, opts.Perfbuf)
	case ebpf.RingBuf:
		return ringbuf.New(m, opts.Ringbuf)
	}
	return nil, fmt.Errorf("transport: open: map type %s: %w", m.Type(), ErrMapType)
}
