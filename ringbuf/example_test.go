package ringbuf_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// A consumer of a ring buffer whose program counts its drops (see the
// package doc) and submits with BPF_RB_NO_WAKEUP, so the consumer also
// drains on a timer. It needs a loaded map and root, so it is compiled but
// not run.
func ExampleNew() {
	var rb, drops *ebpf.Map // from your loaded object
	c, err := ringbuf.New(rb, ringbuf.Options{
		DropCounter:   drops,
		DrainInterval: 10 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close() // before the maps

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Consume(ctx, func(rec transport.Record) error {
		fmt.Println(len(rec.Sample)) // exact length, CPU -1
		return nil
	})
	s := c.Stats()
	log.Printf("%v: %d records, %d dropped by the program, %d bytes waiting", err, s.Records, s.Lost, s.PendingBytes)
}

// Several rings, one goroutine: Record.Source is the ring's index. Compiled,
// not run.
func ExampleNewMulti() {
	var execs, opens *ebpf.Map // two ring buffers
	c, err := ringbuf.NewMulti([]*ebpf.Map{execs, opens}, ringbuf.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_ = c.Consume(context.Background(), func(rec transport.Record) error {
		switch rec.Source {
		case 0:
			fmt.Println("exec", len(rec.Sample))
		case 1:
			fmt.Println("open", len(rec.Sample))
		}
		return nil
	})
}

// A ring per CPU in an ARRAY_OF_MAPS, merged into timestamp order by a u64
// bpf_ktime_get_ns value the program writes at the start of each sample.
// Compiled, not run.
func ExampleNewArrayOfMaps() {
	var perCPURings *ebpf.Map // BPF_MAP_TYPE_ARRAY_OF_MAPS of ring buffers
	c, err := ringbuf.NewArrayOfMaps(perCPURings, ringbuf.Options{
		Reorder: &transport.Reorder{
			Timestamp: func(sample []byte) (uint64, bool) {
				if len(sample) < 8 {
					return 0, false
				}
				return binary.NativeEndian.Uint64(sample), true
			},
			Window: 50 * time.Millisecond, // the latency the merge may add
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_ = c.Consume(context.Background(), func(rec transport.Record) error {
		fmt.Println("ring", rec.Source, "sample of", len(rec.Sample), "bytes")
		return nil
	})
	log.Printf("%d records could not be placed in order", c.Stats().Late)
}
