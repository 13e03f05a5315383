package bpfstream

import (
	"fmt"
	"reflect"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// Options configure Open. Only the options of the map's transport apply, so
// a caller that does not know the map's type may set both; options for the
// other transport only are refused, as they would have no effect.
type Options struct {
	// Perfbuf configures the consumer of a perf event array.
	Perfbuf perfbuf.Options
	// Ringbuf configures the consumer of a ring buffer.
	Ringbuf ringbuf.Options
}

// Open returns a Consumer for m chosen by its type: a perf event array gets a
// perfbuf consumer and a ring buffer a ringbuf consumer. Any other type is an
// error matching transport.ErrMapType, a nil or closed map one matching
// transport.ErrInvalidOptions, as are options set for the other transport
// only (Perfbuf options and no Ringbuf options for a ring buffer, or the
// reverse for a perf event array). The consumer does not take ownership of m: close the consumer
// before the map.
func Open(m *ebpf.Map, opts Options) (transport.Consumer, error) {
	if err := core.CheckMap("bpfstream: open", m, ebpf.PerfEventArray, ebpf.RingBuf); err != nil {
		return nil, err
	}
	switch m.Type() {
	case ebpf.PerfEventArray:
		if err := unused("Ringbuf", opts.Ringbuf, "Perfbuf", opts.Perfbuf, m); err != nil {
			return nil, err
		}
		return perfbuf.New(m, opts.Perfbuf)
	case ebpf.RingBuf:
		if err := unused("Perfbuf", opts.Perfbuf, "Ringbuf", opts.Ringbuf, m); err != nil {
			return nil, err
		}
		return ringbuf.New(m, opts.Ringbuf)
	}
	return nil, fmt.Errorf("bpfstream: open: map type %s: %w", m.Type(), transport.ErrMapType)
}

// unused refuses options set only for the transport that m is not (other):
// the caller meant another map, or expects an effect that would silently
// not happen. Options for both transports are for a map of either type.
func unused(other string, otherOpts any, own string, ownOpts any, m *ebpf.Map) error {
	if reflect.ValueOf(otherOpts).IsZero() || !reflect.ValueOf(ownOpts).IsZero() {
		return nil
	}
	return fmt.Errorf("bpfstream: open: only Options.%s is set, but the map is a %s, read with Options.%s; set those, or both for a map of either type: %w",
		other, m.Type(), own, transport.ErrInvalidOptions)
}
