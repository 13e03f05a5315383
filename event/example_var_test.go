package event_test

import (
	"fmt"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

func ExampleNewVarDecoder() {
	// The C side:
	//
	//	struct msg {
	//		__u32 pid;
	//		__u16 len;     /* bytes of data */
	//		__u16 flags;
	//		char data[];   /* len bytes */
	//	};
	//
	// emitted with bpf_ringbuf_output(&rb, m, sizeof(*m) + m->len, 0), or
	// bpf_perf_event_output, which pads: the length field tells the tail
	// from the padding.
	type msg struct {
		Pid   uint32
		Len   uint16
		Flags uint16
	}
	dec, err := event.NewVarDecoder[msg](event.LengthTail("Len"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// A sample as the program writes it (Encode sets Len), plus padding.
	sample, _ := dec.Encode(msg{Pid: 42}, []byte("GET /index.html"))
	sample = append(sample, 0, 0, 0, 0, 0)

	h := event.VarHandler(dec, func(m *msg, data []byte, rec transport.Record) error {
		fmt.Printf("pid %d: %q (%d bytes)\n", m.Pid, data, m.Len)
		return nil
	}, nil)
	_ = h(transport.Record{Sample: sample})
	_ = h(transport.Record{Sample: sample[:12]}) // truncated: skipped and counted

	_, _, err = dec.Decode(sample[:12])
	fmt.Println(err)
	fmt.Println("decode errors:", dec.Errors())
	// Output:
	// pid 42: "GET /index.html" (15 bytes)
	// event: decode event_test.msg: the sample has 12 bytes, Len declares 23; is the length field the right one? event: inconsistent tail length
	// decode errors: 2
}

func ExampleEncode() {
	type event_t struct {
		Pid  uint32
		Comm [8]byte
	}
	e := event_t{Pid: 7}
	copy(e.Comm[:], "sh")
	b, err := event.Encode(e) // what the BPF program emits, in host byte order
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, _ := event.NewDecoder[event_t]()
	back, _ := dec.Decode(b)
	fmt.Println(len(b), back == e)
	// Output: 12 true
}
