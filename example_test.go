package bpfstream_test

import (
	"fmt"
	"log"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
)

// Open picks the transport by the map's type. The map comes from your loaded
// BPF object (with bpf2go: objs.Events); this example needs one, and root, so
// it is compiled but not run.
func ExampleOpen() {
	var events, drops *ebpf.Map // from your loaded object
	c, err := bpfstream.Open(events, bpfstream.Options{
		Perfbuf: perfbuf.Options{PerCPUBytes: 256 << 10},
		Ringbuf: ringbuf.Options{DropCounter: drops},
	})
	if err != nil {
		// errors.Is(err, transport.ErrMapType): not a perf event array
		// or ring buffer; transport.ErrPermission: the text names the
		// missing capability.
		log.Fatal(err)
	}
	defer c.Close() // before closing the maps
	fmt.Println(c.Kind())
}
