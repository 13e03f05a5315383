package ringbuf_test

import (
	"context"
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
