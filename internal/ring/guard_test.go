package ring

import (
	"os"
	"runtime/debug"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// guardedRing maps size bytes of shared memory twice in a row, the way the
// kernel maps a ring buffer's data pages, between two inaccessible pages: a
// read outside the 2*size bytes faults. With copies = 1 it maps the memory
// once, like a perf buffer's data pages. The memory is unmapped when tb ends.
func guardedRing(tb testing.TB, size, copies int) []byte {
	tb.Helper()
	page := os.Getpagesize()
	total := uintptr(copies*size + 2*page)
	base, err := unix.MmapPtr(-1, 0, nil, total, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		tb.Fatalf("reserve %d bytes: %v", total, err)
	}
	tb.Cleanup(func() { _ = unix.MunmapPtr(base, total) })
	fd, err := unix.MemfdCreate("ring", unix.MFD_CLOEXEC)
	if err != nil {
		tb.Fatalf("memfd_create: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		tb.Fatalf("ftruncate: %v", err)
	}
	data := unsafe.Add(base, page)
	for i := range copies {
		_, err := unix.MmapPtr(fd, 0, unsafe.Add(data, i*size), uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED)
		if err != nil {
			tb.Fatalf("map copy %d: %v", i, err)
		}
	}
	return unsafe.Slice((*byte)(data), copies*size)
}

// faults reports whether f faulted: with SetPanicOnFault a read outside a
// mapping panics instead of crashing the process.
func faults(f func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			faulted = true
		}
	}()
	f()
	return false
}

// TestGuardedRing checks the fuzz targets' memory: the two copies share
// their bytes, and a read one byte before or after them faults.
func TestGuardedRing(t *testing.T) {
	const size = 4096
	mem := guardedRing(t, size, 2)
	mem[10] = 42
	require.Equal(t, byte(42), mem[size+10], "second copy")
	var sink byte
	require.True(t, faults(func() { sink = *(*byte)(unsafe.Add(unsafe.Pointer(&mem[0]), -1)) }), "read before the ring")
	require.True(t, faults(func() { sink = *(*byte)(unsafe.Add(unsafe.Pointer(&mem[0]), 2*size)) }), "read after the ring")
	require.False(t, faults(func() { sink = mem[2*size-1] }))
	_ = sink
}
