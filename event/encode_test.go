package event_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/bpfstream/bpfstream/event"
)

// allKinds has a field of every kind a Decoder supports, with padding between
// some of them.
type allKinds struct {
	I8   int8
	I16  int16
	I32  int32
	I64  int64
	U8   uint8
	U16  uint16
	U32  uint32
	U64  uint64
	F32  float32
	F64  float64
	C64  complex64
	C128 complex128
	B    bool
	Arr  [3]uint16
	Nest struct {
		X uint8
		Y uint32
		Z [2]bool
	}
	Structs [2]struct {
		A uint8
		B uint64
	}
	_ [3]byte
}

func TestEncodeRoundTrip(t *testing.T) {
	v := allKinds{
		I8: -8, I16: -1600, I32: -320000, I64: -1 << 60,
		U8: 8, U16: 1600, U32: 320000, U64: 1 << 63,
		F32: 1.5, F64: -2.25, C64: complex(1, -1), C128: complex(-3, 4),
		B: true, Arr: [3]uint16{1, 2, 65535},
	}
	v.Nest.X, v.Nest.Y, v.Nest.Z = 9, 0xfeedface, [2]bool{false, true}
	v.Structs[0].A, v.Structs[1].B = 1, 2
	dec, err := event.NewDecoder[allKinds]()
	if err != nil {
		t.Fatal(err)
	}
	for _, arg := range []any{v, &v} {
		b, err := event.Encode(arg)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != dec.Size() {
			t.Fatalf("%d bytes, want %d", len(b), dec.Size())
		}
		got, err := dec.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if got != v {
			t.Fatalf("round trip: %+v, want %+v", got, v)
		}
	}
}

// TestEncodeLayout: the bytes are the C layout in host order, padding zero,
// as a program would write them.
func TestEncodeLayout(t *testing.T) {
	type ev struct {
		A uint8
		B uint32 // 3 bytes of padding before
		C uint16
		D bool // 1 byte of padding after, to align the struct to 4
	}
	b, err := event.Encode(ev{A: 0xff, B: 0x01020304, C: 0x0506, D: true})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 12)
	want[0] = 0xff
	binary.NativeEndian.PutUint32(want[4:], 0x01020304)
	binary.NativeEndian.PutUint16(want[8:], 0x0506)
	want[10] = 1
	if string(b) != string(want) {
		t.Fatalf("Encode = % x, want % x", b, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	var nilPtr *allKinds
	for name, v := range map[string]any{
		"string":      "x",
		"int":         3,
		"slice field": struct{ S []byte }{},
		"empty":       struct{}{},
		"nil":         nil,
	} {
		if _, err := event.Encode(v); !errors.Is(err, event.ErrUnsupportedType) {
			t.Errorf("%s: %v, want ErrUnsupportedType", name, err)
		}
	}
	if _, err := event.Encode(nilPtr); !errors.Is(err, event.ErrNilDestination) {
		t.Errorf("nil pointer: %v", err)
	}
}

func TestEncodeAllocs(t *testing.T) {
	v := allKinds{U64: 1}
	if _, err := event.Encode(v); err != nil { // fills the cache
		t.Fatal(err)
	}
	// Boxing v, the addressable copy and the result: a constant, whatever
	// the type's size.
	if n := testing.AllocsPerRun(100, func() { _, _ = event.Encode(&v) }); n > 3 {
		t.Errorf("%v allocations per Encode", n)
	}
}
