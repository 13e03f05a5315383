package producer

import (
	"encoding/binary"
	"testing"
)

func TestParseHeader(t *testing.T) {
	for _, n := range []int{0, 1, 23} {
		if _, err := ParseHeader(make([]byte, n)); err == nil {
			t.Errorf("ParseHeader(%d bytes): no error", n)
		}
	}
	if _, err := ParseHeader(nil); err == nil {
		t.Error("ParseHeader(nil): no error")
	}

	b := make([]byte, 30) // longer than the header, like a padded perf sample
	binary.NativeEndian.PutUint64(b[0:], 42)
	binary.NativeEndian.PutUint64(b[8:], 123456789)
	binary.NativeEndian.PutUint32(b[16:], 3)
	binary.NativeEndian.PutUint32(b[20:], 30)
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Seq: 42, KtimeNs: 123456789, CPU: 3, Size: 30}
	if h != want {
		t.Fatalf("ParseHeader = %+v, want %+v", h, want)
	}
}
