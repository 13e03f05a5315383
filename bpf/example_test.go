package bpf_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// Print every exec on the machine through the best transport the kernel
// has, decoded into event.Exec. It needs root, so it is compiled but not run.
func ExampleOpen() {
	e, err := bpf.Open(bpf.Auto, bpf.Options{MountTracefs: true})
	if err != nil {
		log.Fatal(err) // names the missing capability, or how to mount tracefs
	}
	defer e.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	dec := event.NewExecDecoder()
	err = e.Consumer().Consume(ctx, event.Handler(dec, func(ev *event.Exec, rec transport.Record) error {
		fmt.Println(ev.Pid, ev.Comm(), ev.Filename())
		return nil
	}, nil))
	s := dec.Stats(e.Consumer())
	log.Printf("%s: %v; %d events, %d lost, %d undecodable", e.Program(), err, s.Records, s.Lost, s.DecodeErrors)
}

func ExampleParseProgram() {
	for _, name := range []string{"auto", "perfbuf", "ringbuf-reserve-submit", "kprobe"} {
		p, err := bpf.ParseProgram(name)
		fmt.Println(p, err != nil)
	}
	// Output:
	// auto false
	// perfbuf-output false
	// ringbuf-reserve-submit false
	// auto true
}
