package producer

import (
	"encoding/binary"
	"testing"
)

// FuzzParseHeader: any byte string either fails (shorter than HeaderSize) or
// decodes to the fields at their fixed offsets, ignoring trailing bytes;
// nothing panics.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize-1))
	f.Add(make([]byte, HeaderSize))
	f.Add(make([]byte, HeaderSize+7)) // a padded perf sample
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if len(b) < HeaderSize {
			if err == nil {
				t.Fatalf("ParseHeader(%d bytes): no error", len(b))
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseHeader(%d bytes): %v", len(b), err)
		}
		want := Header{
			Seq:     binary.NativeEndian.Uint64(b),
			KtimeNs: binary.NativeEndian.Uint64(b[8:]),
			CPU:     binary.NativeEndian.Uint32(b[16:]),
			Size:    binary.NativeEndian.Uint32(b[20:]),
		}
		if h != want {
			t.Fatalf("ParseHeader = %+v, want %+v", h, want)
		}
		if again, _ := ParseHeader(b[:HeaderSize]); again != h {
			t.Fatalf("trailing bytes changed the header: %+v vs %+v", again, h)
		}
	})
}
