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
