package event_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// lenHdr is a header with its tail's length: struct { __u64 id; __u16 len; }.
type lenHdr struct {
	ID  uint64
	Len uint16
	_   [6]byte
}

// common is embedded in sizeHdr, to exercise promoted and nested fields.
type common struct {
	Kind uint8
	_    [3]byte
	Size int32
}

type sizeHdr struct {
	common
	Seq uint64
}

func mustVar[H any](t testing.TB, tail event.Tail, opts ...event.Option) *event.VarDecoder[H] {
	t.Helper()
	d, err := event.NewVarDecoder[H](tail, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestVarDecodeTails(t *testing.T) {
	payload := []byte("variable tail")
	t.Run("length", func(t *testing.T) {
		d := mustVar[lenHdr](t, event.LengthTail("Len"))
		b, err := d.Encode(lenHdr{ID: 7, Len: 999}, payload) // Len is overwritten
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, 0, 0, 0) // perfbuf-like padding is ignored
		h, tail, err := d.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.ID != 7 || int(h.Len) != len(payload) || !bytes.Equal(tail, payload) {
			t.Fatalf("got %+v, tail %q", h, tail)
		}
		if cap(tail) != len(tail) {
			t.Errorf("tail capacity %d beyond its length %d", cap(tail), len(tail))
		}
		if &tail[0] != &b[d.HeaderSize()] {
			t.Error("tail is not a sub-slice of the sample")
		}
	})
	for _, field := range []string{"Size", "common.Size"} {
		t.Run("size/"+field, func(t *testing.T) {
			d := mustVar[sizeHdr](t, event.SizeTail(field))
			b, err := d.Encode(sizeHdr{Seq: 3}, payload)
			if err != nil {
				t.Fatal(err)
			}
			h, tail, err := d.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Seq != 3 || int(h.Size) != 16+len(payload) || !bytes.Equal(tail, payload) {
				t.Fatalf("got %+v, tail %q", h, tail)
			}
		})
	}
	t.Run("remaining", func(t *testing.T) {
		d := mustVar[lenHdr](t, event.RemainingTail())
		b, err := d.Encode(lenHdr{ID: 1, Len: 2}, payload)
		if err != nil {
			t.Fatal(err)
		}
		h, tail, err := d.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.Len != 2 || !bytes.Equal(tail, payload) { // Len is not a length here
			t.Fatalf("got %+v, tail %q", h, tail)
		}
		if _, tail, err := d.Decode(b[:16]); err != nil || len(tail) != 0 {
			t.Fatalf("empty tail: %q, %v", tail, err)
		}
	})
}

func TestVarDecodeErrors(t *testing.T) {
	d := mustVar[lenHdr](t, event.LengthTail("Len"))
	good, err := d.Encode(lenHdr{ID: 5}, []byte("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	h := lenHdr{ID: 42}
	if _, err := d.DecodeInto(&h, good[:15]); !errors.Is(err, event.ErrShortSample) {
		t.Fatalf("short header: %v", err)
	}
	_, err = d.DecodeInto(&h, good[:20]) // declares 10 bytes of tail, has 4
	var tle *event.TailLengthError
	if !errors.As(err, &tle) || !errors.Is(err, event.ErrTailLength) {
		t.Fatalf("truncated tail: %v, want *TailLengthError", err)
	}
	if tle.Got != 20 || tle.Want != 26 || tle.Header != 16 || tle.Field != "Len" {
		t.Errorf("error fields %+v", tle)
	}
	if !strings.Contains(err.Error(), "Len declares 26") {
		t.Errorf("error %q", err)
	}
	if h.ID != 42 {
		t.Error("destination changed by a failed decode")
	}
	if _, err := d.DecodeInto(nil, good); !errors.Is(err, event.ErrNilDestination) {
		t.Errorf("nil destination: %v", err)
	}
	if got := d.Errors(); got != 3 {
		t.Errorf("Errors() = %d, want 3", got)
	}

	// A size field smaller than the header, or negative, or huge.
	ds := mustVar[sizeHdr](t, event.SizeTail("Size"))
	for _, size := range []int32{0, 15, -1, math.MaxInt32} {
		b, _ := event.Encode(sizeHdr{common: common{Size: size}})
		_, _, err := ds.Decode(append(b, make([]byte, 32)...))
		if !errors.As(err, &tle) || tle.Want != int(size) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	if !strings.Contains(tle.Error(), "Size declares 2147483647") {
		t.Errorf("error %q", tle)
	}
	b, _ := event.Encode(sizeHdr{common: common{Size: 3}})
	if _, _, err := ds.Decode(b); err == nil || !strings.Contains(err.Error(), "less than its 16-byte header") {
		t.Errorf("size below the header: %v", err)
	}
	// A uint64 length that does not fit an int.
	type bigHdr struct{ Len uint64 }
	db := mustVar[bigHdr](t, event.LengthTail("Len"))
	if _, _, err := db.Decode(bytes.Repeat([]byte{0xff}, 64)); !errors.As(err, &tle) || tle.Want != math.MaxInt {
		t.Errorf("huge length: %v", err)
	}
	// A length that does not fit the field when encoding.
	type smallHdr struct{ Len uint8 }
	if _, err := mustVar[smallHdr](t, event.LengthTail("Len")).Encode(smallHdr{}, make([]byte, 256)); !errors.Is(err, event.ErrTailLength) {
		t.Errorf("encode 256 bytes with a u8 length: %v", err)
	}
}

func TestVarStrict(t *testing.T) {
	for _, c := range []struct {
		kind        transport.Kind
		tail, extra int
		ok          bool
	}{
		{transport.KindRingbuf, 10, 0, true},
		{transport.KindRingbuf, 10, 1, false},
		{transport.KindFake, 0, 0, true},
		// perfbuf: 16+10+4 = 30 pads to 32, so 2 bytes of padding.
		{transport.KindPerfbuf, 10, 2, true},
		{transport.KindPerfbuf, 10, 0, false},
		{transport.KindPerfbuf, 10, 10, false},
		// 16+4+4 = 24 needs no padding.
		{transport.KindPerfbuf, 4, 0, true},
		{transport.KindPerfbuf, 4, 4, false},
	} {
		d := mustVar[lenHdr](t, event.LengthTail("Len"), event.Strict(c.kind))
		b, err := d.Encode(lenHdr{}, make([]byte, c.tail))
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, make([]byte, c.extra)...)
		_, _, err = d.Decode(b)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, event.ErrSampleSize)) {
			t.Errorf("%s, tail %d + %d bytes: %v", c.kind, c.tail, c.extra, err)
		}
	}
}

func TestNewVarDecoderRejects(t *testing.T) {
	for name, f := range map[string]func() error{
		"no field": func() error { _, err := event.NewVarDecoder[lenHdr](event.LengthTail("Nope")); return err },
		"blank":    func() error { _, err := event.NewVarDecoder[lenHdr](event.LengthTail("_")); return err },
		"array":    func() error { _, err := event.NewVarDecoder[struct{ L [2]uint8 }](event.LengthTail("L")); return err },
		"float":    func() error { _, err := event.NewVarDecoder[struct{ L float32 }](event.SizeTail("L")); return err },
		"not struct": func() error {
			_, err := event.NewVarDecoder[struct{ L uint32 }](event.LengthTail("L.X"))
			return err
		},
		"bad header": func() error { _, err := event.NewVarDecoder[struct{ S string }](event.RemainingTail()); return err },
	} {
		if err := f(); !errors.Is(err, event.ErrUnsupportedType) {
			t.Errorf("%s: %v, want ErrUnsupportedType", name, err)
		}
	}
	if _, err := event.NewVarDecoder[lenHdr](event.Tail{}); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("zero Tail: %v", err)
	}
	if _, err := event.NewVarDecoder[lenHdr](event.RemainingTail(), event.Strict(transport.KindRingbuf)); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("strict remaining tail: %v", err)
	}
}

func TestVarDecodeAllocs(t *testing.T) {
	d := mustVar[lenHdr](t, event.LengthTail("Len"))
	b, _ := d.Encode(lenHdr{}, make([]byte, 100))
	var h lenHdr
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := d.DecodeInto(&h, b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("DecodeInto: %v allocations, want 0", n)
	}
	handler := event.VarHandler(d, func(*lenHdr, []byte, transport.Record) error { return nil }, nil)
	rec := transport.Record{Sample: b}
	if n := testing.AllocsPerRun(1000, func() { _ = handler(rec) }); n != 0 {
		t.Errorf("VarHandler: %v allocations, want 0", n)
	}
}

// TestVarThroughFake: the handler and the stream adapters over a consumer,
// with a sample that fails to decode in between.
func TestVarThroughFake(t *testing.T) {
	d := mustVar[lenHdr](t, event.LengthTail("Len"))
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	tails := []string{"", "a", "hello, tail", strings.Repeat("x", 1000)}
	for i, tail := range tails {
		b, err := d.Encode(lenHdr{ID: uint64(i)}, []byte(tail))
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.Emit(b); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if err := fake.Emit(b[:len(b)-1]); err != nil { // truncated
				t.Fatal(err)
			}
		}
	}
	s := event.NewVarStream(context.Background(), fake, d, event.StreamOptions{})
	defer s.Close()
	var got []event.VarItem[lenHdr]
	timeout := time.After(time.Minute)
	for len(got) < len(tails) {
		select {
		case it := <-s.C:
			got = append(got, it)
		case <-timeout:
			t.Fatalf("got %d of %d items", len(got), len(tails))
		}
	}
	for i, it := range got {
		if it.Header.ID != uint64(i) || string(it.Tail) != tails[i] || cap(it.Tail) != len(it.Tail) {
			t.Errorf("item %d: %+v, tail %q (cap %d)", i, it.Header, it.Tail, cap(it.Tail))
		}
	}
	if got := d.Stats(fake).DecodeErrors; got != 1 {
		t.Errorf("DecodeErrors %d, want 1", got)
	}
}

func FuzzVarDecode(f *testing.F) {
	d := mustVar[lenHdr](f, event.LengthTail("Len"))
	s := mustVar[sizeHdr](f, event.SizeTail("Size"))
	sp := mustVar[sizeHdr](f, event.SizeTail("Size"), event.Strict(transport.KindPerfbuf))
	r := mustVar[lenHdr](f, event.RemainingTail())
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	for _, n := range []int{0, 1, 7, 100} {
		b, _ := d.Encode(lenHdr{ID: 1}, make([]byte, n))
		f.Add(b)
		b, _ = s.Encode(sizeHdr{}, make([]byte, n))
		f.Add(append(b, 0, 0, 0, 0))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, tail, err := d.Decode(b); err == nil {
			if len(b) < 16 || int(h.Len) != len(tail) || 16+len(tail) > len(b) {
				t.Fatalf("%d bytes: header %+v, tail of %d", len(b), h, len(tail))
			}
			if len(tail) > 0 && &tail[0] != &b[16] {
				t.Fatal("tail is not in the sample")
			}
		} else if !errors.Is(err, event.ErrShortSample) && !errors.Is(err, event.ErrTailLength) {
			t.Fatalf("length tail: unexpected error %v", err)
		}
		h, tail, err := s.Decode(b)
		if err == nil && (int(h.Size) != 16+len(tail) || int(h.Size) > len(b)) {
			t.Fatalf("size tail: header %+v, tail of %d, sample of %d", h, len(tail), len(b))
		}
		if err != nil && !errors.Is(err, event.ErrShortSample) && !errors.Is(err, event.ErrTailLength) {
			t.Fatalf("size tail: unexpected error %v", err)
		}
		// Strict perfbuf: exactly the padded length, or an error.
		if _, tail, err := sp.Decode(b); err == nil && (16+len(tail)+4+7)&^7-4 != len(b) {
			t.Fatalf("strict: tail of %d in a sample of %d", len(tail), len(b))
		} else if err != nil && errors.Is(err, event.ErrSampleSize) == (err != nil && (errors.Is(err, event.ErrShortSample) || errors.Is(err, event.ErrTailLength))) {
			t.Fatalf("strict: error %v matches no sentinel, or two", err)
		}
		if _, tail, err := r.Decode(b); (err == nil) != (len(b) >= 16) || (err == nil && len(tail) != len(b)-16) {
			t.Fatalf("remaining tail: %d of %d bytes, %v", len(tail), len(b), err)
		}
		// Whatever decodes re-encodes to the same header and tail.
		if h, tail, err := d.Decode(b); err == nil {
			enc, err := d.Encode(h, tail)
			if err != nil || !bytes.Equal(enc[16:], b[16:16+len(tail)]) || !bytes.Equal(enc[:10], b[:10]) {
				t.Fatalf("re-encode: % x from % x: %v", enc, b, err)
			}
		}
	})
}
