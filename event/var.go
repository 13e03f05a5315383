package event

import (
	"fmt"
	"math"
	"reflect"

	"github.com/bpfstream/bpfstream/transport"
)

// VarDecoder decodes variable-length samples: a fixed-layout header H (with
// the rules of [Decoder]) followed by a tail of bytes whose end a [Tail] gives.
// The tail is returned as a sub-slice of the sample, without copying or
// allocating: on the callback path it is borrowed like Record.Sample. Build
// it once per type with [NewVarDecoder]; it is safe for concurrent use.
type VarDecoder[H any] struct {
	hdr   *Decoder[H] // its error counter counts every failure of this decoder
	tail  Tail
	field lengthField
	exact transport.Kind // with Strict, the transport; else KindUnknown
}

// NewVarDecoder returns a [VarDecoder] for samples made of an H followed by
// tail. H must satisfy [NewDecoder]'s rules, and a [LengthTail] or [SizeTail] field
// must be a sized integer field of H; otherwise the error matches
// [ErrUnsupportedType]. Strict(kind) makes it refuse samples longer than the
// header and the declared tail plus the transport's padding (a
// *SampleSizeError); it needs a LengthTail or SizeTail, since a
// [RemainingTail] has no declared end (the error matches
// [transport.ErrInvalidOptions]).
func NewVarDecoder[H any](tail Tail, opts ...Option) (*VarDecoder[H], error) {
	hdr, err := NewDecoder[H]()
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(opts)
	if err != nil {
		return nil, err
	}
	d := &VarDecoder[H]{hdr: hdr, tail: tail}
	switch tail.kind {
	case tailRemaining:
		if o.strict {
			return nil, fmt.Errorf("event: strict decoding needs a declared tail length, not %s: %w", tail, transport.ErrInvalidOptions)
		}
	case tailLength, tailSize:
		var zero H
		if d.field, err = findField(reflect.TypeOf(&zero).Elem(), tail.field); err != nil {
			return nil, err
		}
		if o.strict {
			d.exact = o.kind
		}
	default:
		return nil, fmt.Errorf("event: invalid Tail (use RemainingTail, LengthTail or SizeTail): %w", transport.ErrInvalidOptions)
	}
	return d, nil
}

// HeaderSize returns the size of the header: unsafe.Sizeof(H).
func (d *VarDecoder[H]) HeaderSize() int { return d.hdr.size }

// Tail returns the decoder's Tail.
func (d *VarDecoder[H]) Tail() Tail { return d.tail }

// Errors returns how many samples this [VarDecoder] failed to decode, through
// any of its methods or adapters.
func (d *VarDecoder[H]) Errors() uint64 { return d.hdr.Errors() }

// Stats returns c.Stats() with this decoder's failures added to
// DecodeErrors, like [Decoder.Stats].
func (d *VarDecoder[H]) Stats(c transport.Consumer) transport.Stats { return d.hdr.Stats(c) }

// DecodeInto decodes the header of b into *dst and returns the tail, a
// sub-slice of b (capacity capped at its length, so appending to it copies)
// that is valid as long as b is. It does not allocate. On error *dst is
// unchanged and the failure is counted: a sample shorter than the header
// (*ShortSampleError), a declared length the sample does not have
// (*TailLengthError), or with [Strict], bytes beyond the tail and the
// transport's padding (*SampleSizeError).
func (d *VarDecoder[H]) DecodeInto(dst *H, b []byte) (tail []byte, err error) {
	end, err := d.end(b)
	if err != nil {
		d.hdr.errs.Add(1)
		return nil, err
	}
	if err := d.hdr.DecodeInto(dst, b); err != nil { // only a nil dst fails here
		return nil, err
	}
	return b[d.hdr.size:end:end], nil
}

// Decode is DecodeInto into a new H.
func (d *VarDecoder[H]) Decode(b []byte) (H, []byte, error) {
	var h H
	tail, err := d.DecodeInto(&h, b)
	return h, tail, err
}

// end returns where b's tail ends, or why b does not decode.
func (d *VarDecoder[H]) end(b []byte) (int, error) {
	size := d.hdr.size
	if len(b) < size {
		return 0, &ShortSampleError{Got: len(b), Want: size, Type: d.hdr.name}
	}
	if d.tail.kind == tailRemaining {
		return len(b), nil
	}
	want := d.field.read(b)
	if d.tail.kind == tailLength {
		if want > math.MaxInt-size {
			want = math.MaxInt
		} else {
			want += size
		}
	}
	if want < size || want > len(b) {
		return 0, &TailLengthError{Field: d.field.name, Got: len(b), Want: want, Header: size, Type: d.hdr.name}
	}
	if d.exact != transport.KindUnknown {
		if n := transportLen(d.exact, want); len(b) != n {
			return 0, &SampleSizeError{Got: len(b), Want: n, Type: d.hdr.name}
		}
	}
	return want, nil
}
