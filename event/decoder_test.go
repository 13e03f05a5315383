package event

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unsafe"
)

type padded struct {
	A uint8
	B uint32
	C [3]bool
	D int64
	E struct {
		F [2]bool
		G float32
	}
}

func TestNewDecoderRejects(t *testing.T) {
	check := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnsupportedType) {
			t.Errorf("%s: %v, want ErrUnsupportedType", name, err)
		}
	}
	_, err := NewDecoder[struct{ P *int32 }]()
	check("pointer", err)
	_, err = NewDecoder[struct{ S []byte }]()
	check("slice", err)
	_, err = NewDecoder[struct{ S string }]()
	check("string", err)
	_, err = NewDecoder[map[int32]int32]()
	check("map", err)
	_, err = NewDecoder[struct{ N int }]()
	check("int", err)
	_, err = NewDecoder[[4]uintptr]()
	check("uintptr", err)
	_, err = NewDecoder[struct{ I any }]()
	check("interface", err)
	_, err = NewDecoder[struct{ C chan int32 }]()
	check("chan", err)
	_, err = NewDecoder[struct{}]()
	check("empty", err)
	_, err = NewDecoder[struct{ A [2]struct{ F func() } }]()
	check("func in array", err)
	if err != nil && !strings.Contains(err.Error(), ".A[].F") {
		t.Errorf("error %q does not name the field", err)
	}
}

func TestNewDecoderAccepts(t *testing.T) {
	if _, err := NewDecoder[uint64](); err != nil {
		t.Error(err)
	}
	d, err := NewDecoder[padded]()
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != int(unsafe.Sizeof(padded{})) {
		t.Errorf("Size() = %d, want %d", d.Size(), unsafe.Sizeof(padded{}))
	}
	if len(d.bools) != 5 {
		t.Errorf("found %d bools, want 5", len(d.bools))
	}
}

func TestDecodeLayout(t *testing.T) {
	d, err := NewDecoder[padded]()
	if err != nil {
		t.Fatal(err)
	}
	// Build the C layout by hand, with natural alignment (as clang would).
	b := make([]byte, d.Size()+5) // plus trailing padding, ignored
	b[0] = 7
	binary.NativeEndian.PutUint32(b[4:], 0xdeadbeef)
	b[8], b[9], b[10] = 0, 1, 200 // bools, C style
	binary.NativeEndian.PutUint64(b[16:], 1<<40+3)
	b[24], b[25] = 9, 0
	binary.NativeEndian.PutUint32(b[28:], 0x3fc00000) // 1.5
	v, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	want := padded{A: 7, B: 0xdeadbeef, C: [3]bool{false, true, true}, D: 1<<40 + 3}
	want.E.F = [2]bool{true, false}
	want.E.G = 1.5
	if v != want {
		t.Errorf("Decode = %+v, want %+v", v, want)
	}
	for i, c := range v.C {
		if *(*byte)(unsafe.Pointer(&v.C[i])) > 1 {
			t.Errorf("C[%d] = %v holds a byte other than 0 or 1", i, c)
		}
	}
}

func TestShortSamples(t *testing.T) {
	d := NewExecDecoder()
	for _, n := range []int{0, 1, 4, 531} {
		var e Exec
		e.Pid = 42
		err := d.DecodeInto(&e, make([]byte, n))
		var short *ShortSampleError
		if !errors.As(err, &short) || !errors.Is(err, ErrShortSample) {
			t.Fatalf("%d bytes: %v, want *ShortSampleError", n, err)
		}
		if short.Got != n || short.Want != 532 {
			t.Errorf("%d bytes: got %+v", n, short)
		}
		if !strings.Contains(err.Error(), "532") {
			t.Errorf("error %q does not say the wanted size", err)
		}
		if e.Pid != 42 {
			t.Errorf("%d bytes: destination changed", n)
		}
	}
	if _, err := d.Decode(nil); !errors.Is(err, ErrShortSample) {
		t.Errorf("nil sample: %v", err)
	}
	if err := d.DecodeInto(nil, make([]byte, 600)); !errors.Is(err, ErrNilDestination) {
		t.Errorf("nil destination: %v", err)
	}
	if got := d.Errors(); got != 6 {
		t.Errorf("Errors() = %d, want 6", got)
	}
}

func TestHugeSample(t *testing.T) {
	d := NewExecDecoder()
	b := make([]byte, 1<<20)
	copy(b[4:], "comm")
	copy(b[20:], "/usr/bin/true")
	for i := 532; i < len(b); i++ {
		b[i] = 0xff
	}
	e, err := d.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Comm() != "comm" || e.Filename() != "/usr/bin/true" {
		t.Errorf("decoded %q %q", e.Comm(), e.Filename())
	}
}

func TestExecStrings(t *testing.T) {
	var e Exec
	if e.Comm() != "" || e.Filename() != "" {
		t.Error("zero Exec has non-empty strings")
	}
	for i := range e.RawComm {
		e.RawComm[i] = 'x'
	}
	copy(e.RawFilename[:], "/bin/true\x00garbage")
	if e.Comm() != strings.Repeat("x", 16) {
		t.Errorf("unterminated comm = %q", e.Comm())
	}
	if e.Filename() != "/bin/true" {
		t.Errorf("Filename() = %q", e.Filename())
	}
}

func TestDecodeIntoAllocs(t *testing.T) {
	d := NewExecDecoder()
	b := make([]byte, 536)
	var e Exec
	if n := testing.AllocsPerRun(1000, func() {
		if err := d.DecodeInto(&e, b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DecodeInto: %v allocs per run, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := d.Decode(b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Decode: %v allocs per run, want 0", n)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Add(make([]byte, 531))
	f.Add(make([]byte, 532))
	f.Add(make([]byte, 536))
	d := NewExecDecoder()
	pd, err := NewDecoder[padded]()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := d.Decode(b)
		if len(b) < 532 {
			if !errors.Is(err, ErrShortSample) {
				t.Fatalf("%d bytes: %v, want ErrShortSample", len(b), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%d bytes: %v", len(b), err)
		}
		if int32(binary.NativeEndian.Uint32(b)) != e.Pid {
			t.Fatal("pid mismatch")
		}
		_ = e.Comm()
		_ = e.Filename()
		if len(e.Filename()) > MaxFilenameLen || len(e.Comm()) > TaskCommLen {
			t.Fatal("string longer than its array")
		}
		if p, err := pd.Decode(b); err == nil {
			for _, c := range p.C {
				_ = !c
			}
		}
	})
}

func BenchmarkDecodeExec(b *testing.B) {
	d := NewExecDecoder()
	sample := make([]byte, 536)
	copy(sample[4:], "true")
	copy(sample[20:], "/usr/bin/true")
	b.Run("DecodeInto", func(b *testing.B) {
		var e Exec
		b.SetBytes(int64(len(sample)))
		b.ReportAllocs()
		for b.Loop() {
			if err := d.DecodeInto(&e, sample); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Decode", func(b *testing.B) {
		b.SetBytes(int64(len(sample)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decode(sample); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary.Read", func(b *testing.B) { // for comparison
		var e Exec
		b.SetBytes(int64(len(sample)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := binary.Decode(sample, binary.NativeEndian, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// header is the test producer's 24-byte sample header.
type header struct {
	Seq, Ktime uint64
	CPU, Size  uint32
}

// BenchmarkDecodeHeader decodes a 24-byte header, the size at which the
// decoder's own cost shows most.
func BenchmarkDecodeHeader(b *testing.B) {
	d, err := NewDecoder[header]()
	if err != nil {
		b.Fatal(err)
	}
	sample := make([]byte, 28) // a perf sample's data: 24 bytes and padding
	var h header
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeInto(&h, sample[:28]); err != nil {
			b.Fatal(err)
		}
	}
}

// A sample need not be aligned for T: perf samples are 4-byte aligned, and
// any offset decodes the same (also under -race, whose pointer checks reject
// misaligned conversions to types holding pointers).
func TestDecodeUnaligned(t *testing.T) {
	d, err := NewDecoder[header]()
	if err != nil {
		t.Fatal(err)
	}
	want := header{Seq: 1 << 40, Ktime: 7, CPU: 3, Size: 24}
	for off := range 8 {
		buf := make([]byte, off+24)
		b := buf[off:]
		binary.NativeEndian.PutUint64(b, want.Seq)
		binary.NativeEndian.PutUint64(b[8:], want.Ktime)
		binary.NativeEndian.PutUint32(b[16:], want.CPU)
		binary.NativeEndian.PutUint32(b[20:], want.Size)
		got, err := d.Decode(b)
		if err != nil || got != want {
			t.Fatalf("offset %d: Decode = %+v, %v; want %+v", off, got, err, want)
		}
	}
}
