package transporttest

import (
	"fmt"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

const (
	// SampleHeaderSize is the size of the [SampleHeader] that every sample of
	// a [KernelProducer] starts with, and the smallest sample size.
	SampleHeaderSize = 24
	// MaxSampleSize is the largest sample a [KernelProducer] emits.
	MaxSampleSize = 4096
)

// SampleHeader is the start of every [KernelProducer] sample, in host byte
// order; as C:
//
//	struct sample_hdr {
//		__u64 seq;      /* 0, 1, 2, ... per producer, lost samples included */
//		__u64 ktime_ns; /* bpf_ktime_get_ns() when it was built */
//		__u32 cpu;      /* the CPU that emitted it */
//		__u32 size;     /* the sample's size, header included */
//	};
//
// It is a fixed-layout struct, so event.NewDecoder[SampleHeader] decodes it,
// and event.NewVarDecoder[SampleHeader](event.SizeTail("Size")) decodes a
// sample with its payload.
type SampleHeader struct {
	Seq     uint64
	KtimeNs uint64
	CPU     uint32
	Size    uint32
}

// ParseSampleHeader decodes the header at the start of sample; bytes after
// it (payload, perf padding) are ignored. A shorter sample is an error
// matching [ErrMalformed].
func ParseSampleHeader(sample []byte) (SampleHeader, error) {
	h, err := producer.ParseHeader(sample)
	if err != nil {
		return SampleHeader{}, fmt.Errorf("transporttest: parse the sample header: %w: %w", reword(err), ErrMalformed)
	}
	return SampleHeader(h), nil
}

// PayloadByte is the byte at offset i of the payload (counted from the end of
// the header) of sample seq of a [KernelProducer] with variable sizes
// ([KernelProducerOptions.VarSampleSize]).
func PayloadByte(seq uint64, i int) byte { return producer.PayloadByte(seq, i) }
