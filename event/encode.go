package event

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// span is a run of bytes of a type's value that belong to its fields (not
// padding).
type span struct{ off, n uintptr }

// encodings caches the field spans of the types Encode has seen, by
// reflect.Type.
var encodings sync.Map

// Encode returns the bytes a BPF program emits for v: v's memory in host byte
// order and in the C layout that a [Decoder] of v's type reads, with padding
// bytes zero. It is the inverse of [Decoder.Decode], for building samples in
// tests (for example transporttest.Fake.EmitValue) without encoding/binary.
// v is a value of a type that [NewDecoder] accepts, or a non-nil pointer to
// one; any other type is an error matching [ErrUnsupportedType].
func Encode(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, ErrNilDestination
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil, fmt.Errorf("event: encode nil: %w", ErrUnsupportedType)
	}
	spans, err := layoutOf(rv.Type())
	if err != nil {
		return nil, err
	}
	// An addressable copy, so that its memory can be read.
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	return encodeSpans(make([]byte, rv.Type().Size()), p.UnsafePointer(), spans), nil
}

// layoutOf validates t with NewDecoder's rules and returns its field spans.
func layoutOf(t reflect.Type) ([]span, error) {
	if s, ok := encodings.Load(t); ok {
		return s.([]span), nil
	}
	var bools []uintptr
	if err := checkLayout(t, &bools); err != nil {
		return nil, fmt.Errorf("event: encode %s: %w", t, err)
	}
	var spans []span
	addSpans(t, 0, &spans)
	encodings.Store(t, spans)
	return spans, nil
}

// addSpans appends the spans of t's fields at off, merging adjacent ones. t
// has passed walk.
func addSpans(t reflect.Type, off uintptr, spans *[]span) {
	switch t.Kind() {
	case reflect.Array:
		if t.Len() == 0 {
			return
		}
		// Lay out one element, then repeat it: an element without padding
		// merges into one span for the whole array.
		var elem []span
		addSpans(t.Elem(), 0, &elem)
		for i := 0; i < t.Len(); i++ {
			for _, s := range elem {
				add(spans, span{off + uintptr(i)*t.Elem().Size() + s.off, s.n})
			}
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			addSpans(f.Type, off+f.Offset, spans)
		}
	default:
		add(spans, span{off, t.Size()})
	}
}

func add(spans *[]span, s span) {
	if s.n == 0 {
		return
	}
	if n := len(*spans); n > 0 && (*spans)[n-1].off+(*spans)[n-1].n == s.off {
		(*spans)[n-1].n += s.n
		return
	}
	*spans = append(*spans, s)
}

// encodeSpans copies the spans of the value at p into out, which is zero.
func encodeSpans(out []byte, p unsafe.Pointer, spans []span) []byte {
	src := unsafe.Slice((*byte)(p), len(out))
	for _, s := range spans {
		copy(out[s.off:s.off+s.n], src[s.off:s.off+s.n])
	}
	return out
}

// Encode returns the bytes of a sample made of header h and tail, the
// inverse of DecodeInto: h's bytes as Encode lays them out, with the length
// field ([LengthTail], [SizeTail]) set to the tail's length (or the sample's
// size), followed by tail. h is not modified. A tail length that does not fit
// in the field is an error matching [ErrTailLength]. A sample encoded for a
// [RemainingTail] has no padding, as a ring buffer delivers it.
func (d *VarDecoder[H]) Encode(h H, tail []byte) ([]byte, error) {
	spans, err := layoutOf(reflect.TypeOf(&h).Elem())
	if err != nil {
		return nil, err
	}
	size := d.hdr.size
	out := encodeSpans(make([]byte, size, size+len(tail)), unsafe.Pointer(&h), spans)
	switch d.tail.kind {
	case tailLength:
		err = d.field.write(out, len(tail))
	case tailSize:
		err = d.field.write(out, size+len(tail))
	}
	if err != nil {
		return nil, err
	}
	return append(out, tail...), nil
}
