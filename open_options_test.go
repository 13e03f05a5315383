package bpfstream_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOpenRefusesOptionsOfTheOtherTransport: options for the transport the
// map is not, and none for its own, would have no effect; Open refuses them
// (before, it ignored them and opened the consumer). Options for both are
// for a map of either type, and accepted.
func TestOpenRefusesOptionsOfTheOtherTransport(t *testing.T) {
	privileged.Require(t)
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()

	for _, tc := range []struct {
		m     *ebpf.Map
		opts  bpfstream.Options
		field string
	}{
		{rb, bpfstream.Options{Perfbuf: perfbuf.Options{PerCPUBytes: 1 << 20}}, "Options.Perfbuf"},
		{rb, bpfstream.Options{Perfbuf: perfbuf.Options{OnLost: func(int, uint64) {}}}, "Options.Perfbuf"},
		{pb, bpfstream.Options{Ringbuf: ringbuf.Options{DrainInterval: 1}}, "Options.Ringbuf"},
	} {
		c, err := bpfstream.Open(tc.m, tc.opts)
		if err == nil {
			c.Close()
			t.Errorf("Open of a %v with %s set: accepted", tc.m.Type(), tc.field)
			continue
		}
		if !errors.Is(err, transport.ErrInvalidOptions) || !strings.Contains(err.Error(), "only "+tc.field+" is set") {
			t.Errorf("Open of a %v with %s set: %v", tc.m.Type(), tc.field, err)
		}
	}

	// The options of the map's own transport, and none, are accepted.
	for _, tc := range []struct {
		m    *ebpf.Map
		opts bpfstream.Options
	}{
		{rb, bpfstream.Options{Ringbuf: ringbuf.Options{DrainInterval: 1}}},
		{pb, bpfstream.Options{Perfbuf: perfbuf.Options{PerCPUBytes: 1 << 16}}},
		{rb, bpfstream.Options{}},
		{pb, bpfstream.Options{}},
		{rb, bpfstream.Options{Perfbuf: perfbuf.Options{PerCPUBytes: 1 << 16}, Ringbuf: ringbuf.Options{DrainInterval: 1}}},
		{pb, bpfstream.Options{Perfbuf: perfbuf.Options{PerCPUBytes: 1 << 16}, Ringbuf: ringbuf.Options{DrainInterval: 1}}},
	} {
		c, err := bpfstream.Open(tc.m, tc.opts)
		if err != nil {
			t.Errorf("Open of a %v: %v", tc.m.Type(), err)
			continue
		}
		c.Close()
	}
}
