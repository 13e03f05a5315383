package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// Tail says where the variable-length tail after a header ends: at the end of
// the sample ([RemainingTail]) or where a field of the header says
// ([LengthTail], [SizeTail]). Build it with one of those functions; the zero
// Tail is invalid.
type Tail struct {
	kind  tailKind
	field string
}

type tailKind int

const (
	tailRemaining tailKind = iota + 1
	tailLength
	tailSize
)

// RemainingTail is a tail made of every byte after the header. On a perf
// buffer (KindPerfbuf) that includes the 0 to 7 bytes of padding the kernel
// appends to every sample, which cannot be told apart from data: for
// perfbuf, put the tail's length in the header and use [LengthTail] (or
// [SizeTail]). A ring buffer delivers exactly what the program wrote.
func RemainingTail() Tail { return Tail{kind: tailRemaining} }

// LengthTail is a tail whose length in bytes is held in field of the header:
// the C layout `struct { ...; __u32 len; ...; }` followed by len bytes, with
// field "len"'s Go name (for example "Len"). The field must be a sized
// integer (int8..int64, uint8..uint64); a field of a nested struct is named
// by its path, as in "Common.Len". Bytes after the declared tail (perfbuf's
// padding) are ignored, unless the decoder is [Strict].
func LengthTail(field string) Tail { return Tail{kind: tailLength, field: field} }

// SizeTail is like [LengthTail], but field holds the size of the whole sample,
// header included, as in headers that say how long their record is.
func SizeTail(field string) Tail { return Tail{kind: tailSize, field: field} }

// String describes the tail.
func (t Tail) String() string {
	switch t.kind {
	case tailRemaining:
		return "remaining bytes"
	case tailLength:
		return "tail length in " + t.field
	case tailSize:
		return "sample size in " + t.field
	}
	return "invalid tail"
}

// ErrTailLength matches (errors.Is) every *TailLengthError.
var ErrTailLength = errors.New("event: inconsistent tail length")

// TailLengthError is returned for a sample whose header declares a length
// that the sample does not have: a tail running past the end of the sample,
// or a declared size smaller than the header itself.
type TailLengthError struct {
	// Field is the header field that holds the length.
	Field string
	// Got is the length of the sample; Want is the length its header
	// declares, header and tail (saturated at math.MaxInt for a huge
	// value; below Header, or negative, for a nonsensical one).
	Got, Want int
	// Header is the size of the header.
	Header int
	// Type is the Go type of the header (as reflect.Type.String gives it).
	Type string
}

// Error names the type and says the lengths.
func (e *TailLengthError) Error() string {
	if e.Want < e.Header {
		return fmt.Sprintf("%s: %s declares a sample of %d bytes, less than its %d-byte header; is the length field the right one? %s",
			decoding(e.Type), e.Field, e.Want, e.Header, ErrTailLength)
	}
	return fmt.Sprintf("%s: the sample has %d bytes, %s declares %d; is the length field the right one? %s",
		decoding(e.Type), e.Got, e.Field, e.Want, ErrTailLength)
}

// Is reports whether target is [ErrTailLength].
func (e *TailLengthError) Is(target error) bool { return target == ErrTailLength }

// lengthField is where a header holds its tail's length.
type lengthField struct {
	name   string
	off    int
	size   int // 1, 2, 4 or 8
	signed bool
}

// findField resolves a dotted field path in struct type t.
func findField(t reflect.Type, path string) (lengthField, error) {
	f := lengthField{name: path}
	cur := t
	for _, name := range strings.Split(path, ".") {
		if cur.Kind() != reflect.Struct {
			return f, fmt.Errorf("event: length field %q: %s is not a struct: %w", path, cur, ErrUnsupportedType)
		}
		sf, ok := cur.FieldByName(name)
		if !ok || name == "_" {
			return f, fmt.Errorf("event: %s has no field %q: %w", t, path, ErrUnsupportedType)
		}
		// A promoted field's Offset is relative to its own struct: add
		// the offsets of the embedded structs on the way.
		inner := cur
		for _, i := range sf.Index {
			fi := inner.Field(i)
			f.off += int(fi.Offset)
			inner = fi.Type
		}
		cur = sf.Type
	}
	switch cur.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f.signed = true
	default:
		return f, fmt.Errorf("event: length field %s.%s has type %s, want a sized integer: %w", t, path, cur, ErrUnsupportedType)
	}
	f.size = int(cur.Size())
	return f, nil
}

// read returns the field's value in b (at least off+size bytes), saturated
// to the int range.
func (f lengthField) read(b []byte) int {
	b = b[f.off : f.off+f.size]
	var u uint64
	switch f.size {
	case 1:
		u = uint64(b[0])
		if f.signed {
			return int(int8(b[0]))
		}
	case 2:
		u = uint64(binary.NativeEndian.Uint16(b))
		if f.signed {
			return int(int16(u))
		}
	case 4:
		u = uint64(binary.NativeEndian.Uint32(b))
		if f.signed {
			return int(int32(u))
		}
	default:
		u = binary.NativeEndian.Uint64(b)
		if f.signed {
			return saturate(int64(u))
		}
	}
	if u > math.MaxInt {
		return math.MaxInt
	}
	return int(u)
}

// write stores v in the field in b; it fails when v does not fit.
func (f lengthField) write(b []byte, v int) error {
	bits := 8 * f.size
	fits := v >= 0 && (bits == 64 || uint64(v) < 1<<bits)
	if f.signed {
		// v is a length, never negative; an int of 64 bits fits an int64.
		fits = v >= 0 && (bits == 64 || int64(v) < int64(1)<<(bits-1))
	}
	if !fits {
		return fmt.Errorf("event: length %d does not fit in field %s of %d bytes: %w", v, f.name, f.size, ErrTailLength)
	}
	b = b[f.off : f.off+f.size]
	switch f.size {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.NativeEndian.PutUint16(b, uint16(v))
	case 4:
		binary.NativeEndian.PutUint32(b, uint32(v))
	default:
		binary.NativeEndian.PutUint64(b, uint64(v))
	}
	return nil
}

// saturate converts v to int on any platform.
func saturate(v int64) int {
	if v > math.MaxInt {
		return math.MaxInt
	}
	if v < math.MinInt {
		return math.MinInt
	}
	return int(v)
}
