package perfbuf_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// A consumer of a perf event array, woken every 64 samples, with the loss
// callback and a declared sample size. It needs a loaded map and root, so it
// is compiled but not run.
func ExampleNew() {
	var events *ebpf.Map  // BPF_MAP_TYPE_PERF_EVENT_ARRAY of your loaded object
	const eventSize = 532 // sizeof(struct event) in your C code

	c, err := perfbuf.New(events, perfbuf.Options{
		PerCPUBytes:    256 << 10,
		WakeupEvents:   64,                    // fewer wake-ups at high rates...
		DrainInterval:  50 * time.Millisecond, // ...and a bounded delay at low ones
		MaxSampleBytes: eventSize,             // refuse buffers that would jam
		OnLost: func(cpu int, n uint64) {
			log.Printf("cpu %d: %d samples lost", cpu, n)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	err = c.Consume(context.Background(), func(rec transport.Record) error {
		// rec.Sample carries 0-7 bytes of padding: decode a prefix.
		fmt.Println(rec.CPU, binary.NativeEndian.Uint32(rec.Sample))
		return nil
	})
	log.Print(err)
}

// Merging the per-CPU streams into timestamp order: the program writes
// bpf_ktime_get_ns() at a fixed offset; records are held at most Window.
// Compiled, not run.
func ExampleOptions_reorder() {
	var events *ebpf.Map
	c, err := perfbuf.New(events, perfbuf.Options{
		Reorder: &transport.Reorder{
			Timestamp: func(sample []byte) (uint64, bool) {
				if len(sample) < 16 {
					return 0, false
				}
				return binary.NativeEndian.Uint64(sample[8:]), true
			},
			Window: 10 * time.Millisecond,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// ... Consume as usual; Stats().Late counts records that came too late
	// to be placed in order.
}

// Draining a busy many-CPU host's buffers on four goroutines, each with its
// own share of the CPUs: the handler is then called concurrently and must be
// safe for that. Compiled, not run.
func ExampleOptions_shards() {
	var events *ebpf.Map
	c, err := perfbuf.New(events, perfbuf.Options{Shards: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var perCPU [1024]atomic.Uint64 // one counter per CPU: no lock needed
	err = c.Consume(context.Background(), func(rec transport.Record) error {
		perCPU[rec.CPU].Add(1)
		return nil
	})
	log.Print(err)
}

// The flight recorder keeps only the newest samples and is read on demand.
// Compiled, not run.
func ExampleNewFlightRecorder() {
	var events *ebpf.Map
	r, err := perfbuf.NewFlightRecorder(events, 64<<10)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	// ... when something interesting happens:
	recs, err := r.Snapshot()
	if err != nil {
		log.Fatal(err)
	}
	for _, rec := range recs {
		fmt.Println(rec.CPU, len(rec.Sample))
	}
}

// Sizing: the smallest per-CPU buffer that works for a sample size.
func ExampleMinPerCPUBytes() {
	for _, size := range []int{532, 4060, 60000} {
		fmt.Println(size, perfbuf.MinPerCPUBytes(size))
	}
	// Output:
	// 532 4096
	// 4060 8192
	// 60000 65536
}
