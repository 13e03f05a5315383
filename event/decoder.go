package event

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/bpfstream/bpfstream/transport"
)

// ErrShortSample matches (errors.Is) every *ShortSampleError.
var ErrShortSample = errors.New("event: short sample")

// ShortSampleError is returned for a sample shorter than the decoded type.
type ShortSampleError struct {
	// Got is the length of the sample, Want the size of the type.
	Got, Want int
	// Type is the Go type decoded (as reflect.Type.String gives it).
	Type string
}

// Error names the type and says both sizes.
func (e *ShortSampleError) Error() string {
	return fmt.Sprintf("%s: the sample has %d bytes, want at least %d; does the program write this type? %s",
		decoding(e.Type), e.Got, e.Want, ErrShortSample)
}

// decoding is the start of a decode error's text.
func decoding(typ string) string {
	if typ == "" {
		return "event: decode"
	}
	return "event: decode " + typ
}

// Is reports whether target is [ErrShortSample].
func (e *ShortSampleError) Is(target error) bool { return target == ErrShortSample }

// ErrUnsupportedType is returned (wrapped, naming the offending field) by
// [NewDecoder] for a type without a fixed, platform-independent layout.
var ErrUnsupportedType = errors.New("event: type has no fixed layout")

// ErrNilDestination is returned by DecodeInto for a nil destination.
var ErrNilDestination = errors.New("event: nil destination")

// Decoder decodes samples into T. Build it once per type with [NewDecoder]; it
// is safe for concurrent use.
type Decoder[T any] struct {
	size  int
	name  string    // T, for errors
	exact int       // with Strict, the only sample length accepted; else 0
	bools []uintptr // offsets of bool fields, normalised to 0/1
	errs  atomic.Uint64
}

// NewDecoder returns a [Decoder] for T. T must be a fixed-size type made of
// sized integers (int8..int64, uint8..uint64), floats, complex numbers,
// bools, and arrays and structs of them; anything else (pointers, slices,
// strings, maps, channels, functions, interfaces, int, uint, uintptr) or a
// zero-size T is an error matching [ErrUnsupportedType]. Without options a
// Decoder accepts any sample at least Size() bytes long; see [Strict].
func NewDecoder[T any](opts ...Option) (*Decoder[T], error) {
	var zero T
	t := reflect.TypeOf(&zero).Elem()
	d := &Decoder[T]{size: int(t.Size()), name: t.String()}
	if err := checkLayout(t, &d.bools); err != nil {
		return nil, fmt.Errorf("event: decode %s: %w", t, err)
	}
	o, err := parseOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.strict {
		d.exact = transportLen(o.kind, d.size)
	}
	return d, nil
}

// checkLayout checks that t has a fixed layout and a size, and records the
// offsets of its bools. Its errors say what to use instead.
func checkLayout(t reflect.Type, bools *[]uintptr) error {
	if err := walk(t, t.String(), 0, bools); err != nil {
		return err
	}
	if t.Size() == 0 {
		return fmt.Errorf("the type has size 0; decode a struct of the fields the program writes: %w", ErrUnsupportedType)
	}
	return nil
}

// walk checks that t has a fixed layout and records the offsets of its bools.
func walk(t reflect.Type, path string, off uintptr, bools *[]uintptr) error {
	switch t.Kind() {
	case reflect.Bool:
		*bools = append(*bools, off)
		return nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		n := len(*bools)
		if err := walk(t.Elem(), path+"[]", off, bools); err != nil {
			return err
		}
		if len(*bools) > n { // element holds bools: repeat for each element
			elem := append([]uintptr(nil), (*bools)[n:]...)
			for i := 1; i < t.Len(); i++ {
				for _, o := range elem {
					*bools = append(*bools, o+uintptr(i)*t.Elem().Size())
				}
			}
		}
		return nil
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if err := walk(f.Type, path+"."+f.Name, off+f.Offset, bools); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%s has kind %s, which has no fixed size; %s: %w", path, t.Kind(), instead(t.Kind()), ErrUnsupportedType)
}

// instead says what to use in place of a field of kind k.
func instead(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Uint, reflect.Uintptr:
		return "use the sized integer of the C field (int32, int64, uint32, uint64)"
	case reflect.String:
		return "use a [N]byte array of the C field's size, and cut it at the first 0"
	case reflect.Slice:
		return "use a [N]T array of the C field's size, or decode a variable tail with NewVarDecoder"
	}
	return "use fixed-size types: sized integers, floats, bools, and arrays and structs of them"
}

// Size returns the number of bytes a sample must have: unsafe.Sizeof(T).
func (d *Decoder[T]) Size() int { return d.size }

// Errors returns how many samples this [Decoder] failed to decode, through any
// of its methods or adapters.
func (d *Decoder[T]) Errors() uint64 { return d.errs.Load() }

// DecodeInto copies the first Size() bytes of b into *dst without allocating.
// A shorter b is a *ShortSampleError and leaves *dst unchanged; bytes beyond
// Size() are ignored, unless the [Decoder] is strict (a *SampleSizeError).
func (d *Decoder[T]) DecodeInto(dst *T, b []byte) error {
	if dst == nil {
		d.errs.Add(1)
		return ErrNilDestination
	}
	if err := d.checkLen(len(b)); err != nil {
		d.errs.Add(1)
		return err
	}
	// A typed copy: T's size is known where DecodeInto is compiled for it,
	// so a small T is copied in a few moves, not by a call to memmove. T
	// holds no pointers (NewDecoder checks), so the sample need not be
	// aligned for it (perf samples are 4-byte aligned).
	*dst = *(*T)(unsafe.Pointer(unsafe.SliceData(b)))
	p := unsafe.Pointer(dst)
	for _, off := range d.bools {
		bp := (*byte)(unsafe.Add(p, off))
		if *bp > 1 {
			*bp = 1 // a Go bool must hold 0 or 1; C treats any non-zero as true
		}
	}
	return nil
}

// Decode returns the T held in the first Size() bytes of b. See DecodeInto.
func (d *Decoder[T]) Decode(b []byte) (T, error) {
	var v T
	err := d.DecodeInto(&v, b)
	return v, err
}

// Stats returns c.Stats() with this [Decoder]'s decode failures added to
// DecodeErrors, so one snapshot shows kernel losses (Lost) and records that
// arrived but could not be decoded, apart. Use one Decoder per consumer for
// exact per-consumer counts.
func (d *Decoder[T]) Stats(c transport.Consumer) transport.Stats {
	s := c.Stats()
	s.DecodeErrors += d.Errors()
	return s
}
