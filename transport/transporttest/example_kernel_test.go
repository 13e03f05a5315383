//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package transporttest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// An integration test with real BPF (it needs CAP_BPF): the kernel emits
// 10,000 samples into your ring buffer, your consumer reads them, and the
// Checker verifies that every one arrived once, in order, or was counted
// lost. In a test, replace the prints with t.Fatal.
func ExampleNewKernelProducer() {
	// Your maps, as your loader creates them (or objs.Events, objs.Drops).
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 256 << 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rb.Close()
	drops, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer drops.Close()

	p, err := transporttest.NewKernelProducer(rb, transporttest.KernelProducerOptions{
		DropCounter: drops,
		SampleSize:  128,
		Wakeup:      ringbuf.WakeupNever, // the consumer must drain on a timer
	})
	if err != nil {
		fmt.Println(err) // matches transport.ErrPermission without CAP_BPF
		return
	}
	defer p.Close()

	c, err := ringbuf.New(rb, ringbuf.Options{DropCounter: drops, DrainInterval: 10 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var chk transporttest.Checker
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, func(rec transport.Record) error {
			_ = chk.Add(rec) // your handler here, then the check
			return nil
		})
	}()
	if err := p.Run(0, 10000); err != nil { // exactly 10,000 samples, on CPU 0
		fmt.Println(err)
	}
	produced, _ := p.Produced()
	for s := c.Stats(); s.Records+s.Lost < produced; s = c.Stats() {
		time.Sleep(10 * time.Millisecond) // in a test: with a deadline
	}
	cancel()
	<-done
	if err := chk.Check(produced, c.Stats().Lost); err != nil {
		fmt.Println(err) // duplicates, order violations, gaps not counted lost
	}
}
