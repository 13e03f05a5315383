package event_test

import (
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// A record decoded by the BTF of the object that emits it, with no Go
// struct: as JSON, and one field read for a filter.
func ExampleBTFDecoder() {
	spec, err := btf.LoadSpec("../bpf/ringbufreservesubmit_bpfel.o")
	if err != nil {
		panic(err)
	}
	var typ *btf.Struct
	if err := spec.TypeByName("event", &typ); err != nil {
		panic(err)
	}
	d, err := event.NewBTFDecoder(typ, event.BTFOptions{Transport: transport.KindRingbuf})
	if err != nil {
		panic(err)
	}
	pid, err := d.Field("pid")
	if err != nil {
		panic(err)
	}

	rec := make([]byte, d.Size()) // as the program writes it
	rec[0] = 42
	copy(rec[4:], "sh")
	copy(rec[20:], "/bin/sh")

	if v, _ := pid.Int(rec); v == 42 {
		buf, err := d.AppendJSON(nil, rec)
		if err != nil {
			panic(err)
		}
		fmt.Println(string(buf))
	}
	_, err = d.AppendJSON(nil, rec[:10])
	fmt.Println(err)
	// Output:
	// {"pid":42,"comm":"sh","filename":"/bin/sh"}
	// event: struct event: field comm at offset 4: record of 10 bytes ends inside it, the type has 532: event: short sample
}
