package event_test

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

func ExampleDecoder() {
	// A sample as struct event's C layout has it: pid, comm[16], filename[512],
	// plus the padding a perf buffer adds.
	sample := make([]byte, 536)
	binary.NativeEndian.PutUint32(sample, 4242)
	copy(sample[4:], "true")
	copy(sample[20:], "/usr/bin/true")

	dec := event.NewExecDecoder()
	var e event.Exec
	if err := dec.DecodeInto(&e, sample); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Pid, e.Comm(), e.Filename())

	_, err := dec.Decode(sample[:100])
	fmt.Println(err)
	// Output:
	// 4242 true /usr/bin/true
	// event: decode event.Exec: the sample has 100 bytes, want at least 532; does the program write this type? event: short sample
}

func ExampleNewDecoder() {
	// Any fixed-layout struct mirroring a C struct works.
	type sample struct {
		Seq   uint64
		CPU   uint32
		Flags uint16
		_     [2]byte
	}
	dec, err := event.NewDecoder[sample]()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dec.Size())

	_, err = event.NewDecoder[struct{ Name string }]()
	fmt.Println(err)
	// Output:
	// 16
	// event: decode struct { Name string }: struct { Name string }.Name has kind string, which has no fixed size; use a [N]byte array of the C field's size, and cut it at the first 0: event: type has no fixed layout
}

func ExampleHandler() {
	dec := event.NewExecDecoder()
	h := event.Handler(dec, func(e *event.Exec, rec transport.Record) error {
		fmt.Printf("pid %d ran %s on cpu %d\n", e.Pid, e.Filename(), rec.CPU)
		return nil
	}, nil)
	// Pass h to Consumer.Consume. Here, one record by hand:
	sample := make([]byte, 532)
	binary.NativeEndian.PutUint32(sample, 7)
	copy(sample[20:], "/bin/ls")
	_ = h(transport.Record{Sample: sample, CPU: 1})
	_ = h(transport.Record{Sample: sample[:3], CPU: 1}) // skipped and counted
	fmt.Println("decode errors:", dec.Errors())
	// Output:
	// pid 7 ran /bin/ls on cpu 1
	// decode errors: 1
}
