package bench

import (
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// sample128 is a 128-byte test-producer sample as a fixed-layout struct.
type sample128 struct {
	Hdr     producer.Header
	Payload [128 - producer.HeaderSize]byte
}

// newDecode returns the typed path's per-record work for samples of size
// bytes: event.Decoder.DecodeInto into a reused struct of that size (the
// reference event.Exec for 532 bytes; the 24-byte header for sizes without
// a struct of their own).
func newDecode(size int) func([]byte) error {
	switch {
	case size >= event.TaskCommLen+event.MaxFilenameLen+4:
		return decodeInto(event.NewExecDecoder(), new(event.Exec), func(e *event.Exec) uint64 { return uint64(e.Pid) })
	case size >= 128:
		return decodeInto(mustDecoder[sample128](), new(sample128), func(s *sample128) uint64 { return s.Hdr.Seq })
	default:
		return decodeInto(mustDecoder[producer.Header](), new(producer.Header), func(h *producer.Header) uint64 { return h.Seq })
	}
}

func mustDecoder[T any]() *event.Decoder[T] {
	d, err := event.NewDecoder[T]()
	if err != nil {
		panic(err)
	}
	return d
}

// Sink keeps the decoded values observable so the decoding cannot be
// optimised away.
var Sink uint64

func decodeInto[T any](d *event.Decoder[T], dst *T, use func(*T) uint64) func([]byte) error {
	return func(b []byte) error {
		if err := d.DecodeInto(dst, b); err != nil {
			return err
		}
		Sink += use(dst)
		return nil
	}
}
