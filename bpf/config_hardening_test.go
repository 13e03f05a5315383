package bpf

import (
	"errors"
	"os"
	"strconv"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

// TestRingBytesBounds: RingBytes that the map's uint32 max_entries cannot
// hold used to wrap to a nonsense size (1<<32 became 0, and the kernel's
// EINVAL named no option); now it is refused like any bad size, before
// anything is loaded.
func TestRingBytesBounds(t *testing.T) {
	page := os.Getpagesize()
	bad := []int{page / 2, 1}
	if strconv.IntSize == 64 {
		huge := 1
		huge <<= 32
		bad = append(bad, huge, huge<<1)
	}
	for _, n := range bad {
		err := Options{RingBytes: n}.validate(RingbufOutput)
		if !errors.Is(err, transport.ErrInvalidOptions) {
			t.Errorf("RingBytes %d: %v, want ErrInvalidOptions", n, err)
		}
	}
	for _, n := range []int{0, page, maxRingBytes} {
		if err := (Options{RingBytes: n}).validate(RingbufReserveSubmit); err != nil {
			t.Errorf("RingBytes %d: %v", n, err)
		}
	}
	// perfbuf-output has no ring: RingBytes does not apply.
	if err := (Options{RingBytes: 1000}).validate(PerfbufOutput); err != nil {
		t.Errorf("PerfbufOutput with RingBytes 1000: %v", err)
	}
}

// FuzzParseProgram: any string either parses to a program whose name parses
// back to it, or fails with ErrInvalidOptions; nothing panics.
func FuzzParseProgram(f *testing.F) {
	for _, s := range []string{"auto", "perfbuf", "perfbuf-output", "ringbuf-output", "ringbuf-reserve-submit", "", "kprobe", "AUTO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProgram(s)
		if err != nil {
			if !errors.Is(err, transport.ErrInvalidOptions) {
				t.Fatalf("ParseProgram(%q): %v, want ErrInvalidOptions", s, err)
			}
			return
		}
		back, err := ParseProgram(p.String())
		if err != nil || back != p {
			t.Fatalf("ParseProgram(%q) = %v, but ParseProgram(%q) = %v, %v", s, p, p.String(), back, err)
		}
	})
}
