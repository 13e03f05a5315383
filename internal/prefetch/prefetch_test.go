package prefetch

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestNeverFaults gives Run and Bytes addresses no mapping backs, as the
// readers' guesses may be: an unmapped page, the null page, the top of the
// address space.
func TestNeverFaults(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 2*unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	if err := unix.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []uintptr{0, 1, base, base + uintptr(unix.Getpagesize()), ^uintptr(0), ^uintptr(0) &^ 63} {
		Run(addr, CacheLine, 2) // the second line past the top wraps around
	}
	Run(base, 1<<40, 4)
	Run(base, CacheLine, 0)
	Run(base, CacheLine, -1)
	var x [100]byte
	Bytes(uintptr(unsafe.Pointer(&x[0])), len(x))
	Bytes(uintptr(unsafe.Pointer(&x[0])), 1<<20) // lines past x, mapped or not
	Bytes(base, 1<<20)
	Bytes(0, 0)
}
