package event

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

type twenty struct {
	A uint32
	B [16]byte
}

type twentyFour struct{ A, B, C uint64 }

// TestStrictLengths: a strict decoder accepts exactly the length a sample of
// its type has on the transport, and counts every other one.
func TestStrictLengths(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kind   transport.Kind
		newDec func(Option) (interface {
			decode([]byte) error
			Errors() uint64
		}, error)
		ok  int
		bad []int
	}{
		{"perfbuf/20", transport.KindPerfbuf, dec[twenty], 20, []int{0, 19, 21, 24, 28}},
		{"perfbuf/24", transport.KindPerfbuf, dec[twentyFour], 28, []int{23, 24, 25, 32, 36}},
		{"ringbuf/24", transport.KindRingbuf, dec[twentyFour], 24, []int{23, 25, 28, 32}},
		{"fake/20", transport.KindFake, dec[twenty], 20, []int{19, 21, 24}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.newDec(Strict(tc.kind))
			if err != nil {
				t.Fatal(err)
			}
			if err := d.decode(make([]byte, tc.ok)); err != nil {
				t.Fatalf("%d bytes: %v", tc.ok, err)
			}
			for i, n := range tc.bad {
				err := d.decode(make([]byte, n))
				if !errors.Is(err, ErrSampleSize) && !errors.Is(err, ErrShortSample) {
					t.Fatalf("%d bytes: %v, want ErrSampleSize or ErrShortSample", n, err)
				}
				if got := d.Errors(); got != uint64(i+1) {
					t.Fatalf("Errors() = %d after %d bad samples", got, i+1)
				}
			}
		})
	}
}

type decoded[T any] struct{ *Decoder[T] }

func (d decoded[T]) decode(b []byte) error { _, err := d.Decode(b); return err }

func dec[T any](o Option) (interface {
	decode([]byte) error
	Errors() uint64
}, error) {
	d, err := NewDecoder[T](o)
	return decoded[T]{d}, err
}

// TestStrictCatchesSmallerStruct: a Go struct smaller than the C struct the
// program writes decodes without complaint by default; a strict decoder
// refuses every sample, and the mismatch shows in Stats.DecodeErrors.
func TestStrictCatchesSmallerStruct(t *testing.T) {
	sample := make([]byte, 32) // the C struct has grown to 32 bytes
	binary.NativeEndian.PutUint64(sample, 7)

	lax, err := NewDecoder[twentyFour]()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := lax.Decode(sample); err != nil || v.A != 7 {
		t.Fatalf("default decoder: %v, %v", v, err)
	}

	strict, err := NewDecoder[twentyFour](Strict(transport.KindRingbuf))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	h := Handler(strict, func(*twentyFour, transport.Record) error { got++; return nil }, nil)
	for range 3 {
		if err := h(transport.Record{Sample: sample}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = strict.Decode(sample)
	var se *SampleSizeError
	if !errors.As(err, &se) || se.Got != 32 || se.Want != 24 {
		t.Fatalf("Decode: %v, want a *SampleSizeError of 32 vs 24 bytes", err)
	}
	if got != 0 || strict.Errors() != 4 {
		t.Fatalf("handler saw %d, Errors() = %d; want 0 and 4", got, strict.Errors())
	}
}

func TestStrictBadKind(t *testing.T) {
	for _, k := range []transport.Kind{transport.KindUnknown, transport.Kind(42)} {
		if _, err := NewDecoder[twenty](Strict(k)); !errors.Is(err, transport.ErrInvalidOptions) {
			t.Errorf("Strict(%v): %v, want ErrInvalidOptions", k, err)
		}
	}
}

// FuzzStrictDecode: a strict decoder decodes a sample exactly when its length
// is the transport length of the type, never panics, and counts each refusal.
func FuzzStrictDecode(f *testing.F) {
	for _, n := range []int{0, 20, 24, 28, 32, 531, 532, 536} {
		f.Add(make([]byte, n), uint8(transport.KindPerfbuf))
		f.Add(make([]byte, n), uint8(transport.KindRingbuf))
	}
	f.Fuzz(func(t *testing.T, b []byte, kind uint8) {
		k := transport.Kind(kind)
		d, err := NewDecoder[Exec](Strict(k))
		if err != nil {
			if !errors.Is(err, transport.ErrInvalidOptions) {
				t.Fatalf("Strict(%v): %v", k, err)
			}
			return
		}
		want := d.Size()
		if k == transport.KindPerfbuf {
			want = (want+4+7)/8*8 - 4
		}
		e, err := d.Decode(b)
		if (err == nil) != (len(b) == want) {
			t.Fatalf("%v, %d bytes (want %d): %v", k, len(b), want, err)
		}
		if err != nil {
			if !errors.Is(err, ErrSampleSize) && !errors.Is(err, ErrShortSample) || d.Errors() != 1 {
				t.Fatalf("%d bytes: %v, Errors() = %d", len(b), err, d.Errors())
			}
			return
		}
		if int32(binary.NativeEndian.Uint32(b)) != e.Pid {
			t.Fatal("pid mismatch")
		}
	})
}
