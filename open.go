package bpfstream

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// Options configure Open. Only the options of the map's transport apply.
type Options struct {
	// Perfbuf configures the consumer of a perf event array.
	Perfbuf perfbuf.Options
	// Ringbuf configures the consumer of a ring buffer.
	Ringbuf ringbuf.Options
}

// Open returns a Consumer for m chosen by its type: a perf event array gets a
// perfbuf consumer and a ring buffer a ringbuf consumer. Any other type is an
// error matching transport.ErrMapType, a nil or closed map one matching
// transport.ErrInvalidOptions. The consumer does not take ownership of m:
// close the consumer before the map.
func Open(m *ebpf.Map, opts Options) (transport.Consumer, error) {
	if err := core.CheckMap("bpfstream: open", m, ebpf.PerfEventArray, ebpf.RingBuf); err != nil {
		return nil, err
	}
	switch m.Type() {
	case ebpf.PerfEventArray:
		return perfbuf.New(m, opts.Perfbuf)
	case ebpf.RingBuf:
		return ringbuf.New(m, opts.Ringbuf)
	}
	return nil, fmt.Errorf("bpfstream: open: map type %s: %w", m.Type(), transport.ErrMapType)
}
