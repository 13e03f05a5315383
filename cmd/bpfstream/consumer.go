package main

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// transportOf returns the transport that reads maps of type t.
func transportOf(t ebpf.MapType) transport.Kind {
	switch t {
	case ebpf.RingBuf:
		return transport.KindRingbuf
	case ebpf.PerfEventArray:
		return transport.KindPerfbuf
	}
	return transport.KindUnknown
}

// openConsumer returns a consumer of m, a ring buffer or a perf event
// array; name says which map it is.
func openConsumer(name string, m *ebpf.Map) (transport.Consumer, error) {
	switch m.Type() {
	case ebpf.RingBuf:
		return ringbuf.New(m, ringbuf.Options{})
	case ebpf.PerfEventArray:
		return perfbuf.New(m, perfbuf.Options{})
	}
	return nil, fmt.Errorf("map %s is a %s, not a ring buffer or a perf event array: %w", name, m.Type(), transport.ErrMapType)
}

// newDecoder returns the decoder of typ for records of the map type mt,
// or nil without a type.
func newDecoder(typ btf.Type, mt ebpf.MapType) (*event.BTFDecoder, error) {
	if typ == nil {
		return nil, nil
	}
	return event.NewBTFDecoder(typ, event.BTFOptions{Transport: transportOf(mt)})
}
