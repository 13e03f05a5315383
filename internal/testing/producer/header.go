package producer

import (
	"encoding/binary"
	"fmt"
)

const (
	// HeaderSize is the size of the header every sample starts with.
	HeaderSize = 24
	// MaxSample is the largest sample size the producer emits (MAX_SAMPLE in
	// producer.bpf.c).
	MaxSample = 4096
)

// Header is the start of every sample (struct sample_hdr in
// producer.bpf.c), in host byte order.
type Header struct {
	Seq     uint64 // global sequence number, unique across CPUs
	KtimeNs uint64 // bpf_ktime_get_ns() when the sample was built
	CPU     uint32 // CPU that built the sample
	Size    uint32 // sample size in bytes, header included
}

// ParseHeader decodes the header at the start of sample. It fails on a
// sample shorter than HeaderSize. Trailing bytes (payload, perf padding) are
// ignored.
func ParseHeader(sample []byte) (Header, error) {
	if len(sample) < HeaderSize {
		return Header{}, fmt.Errorf("producer: sample of %d bytes is shorter than the %d-byte header", len(sample), HeaderSize)
	}
	return Header{
		Seq:     binary.NativeEndian.Uint64(sample[0:8]),
		KtimeNs: binary.NativeEndian.Uint64(sample[8:16]),
		CPU:     binary.NativeEndian.Uint32(sample[16:20]),
		Size:    binary.NativeEndian.Uint32(sample[20:24]),
	}, nil
}

// Ktime reads a sample's KtimeNs without building a Header: a
// reorder Timestamp for the producer's samples. ok is false for a sample
// shorter than the field.
func Ktime(sample []byte) (ts uint64, ok bool) {
	if len(sample) < 16 {
		return 0, false
	}
	return binary.NativeEndian.Uint64(sample[8:16]), true
}

// PayloadByte is the byte at offset i of the payload (counted from the end of
// the header) of variable-size sample seq (Config.MaxSampleSize).
func PayloadByte(seq uint64, i int) byte { return byte(seq + uint64(i)) }
