package ring

import (
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
)

// TestPrefetchNeverFaults gives the readers' prefetches guesses no mapping
// backs: distances that wrap around the address space, whole records, and
// records too far apart.
func TestPrefetchNeverFaults(t *testing.T) {
	var x [64]byte
	prefetchAhead(unsafe.Pointer(&x[0]), ^uintptr(0)/prefetchDistance) // wraps around
	prefetchAhead(unsafe.Pointer(&x[0]), 1<<40)
	prefetchAhead(unsafe.Pointer(&x[0]), prefetchWholeMax) // whole records
	prefetchChunkAhead(unsafe.Pointer(&x[0]), prefetchWholeMax)
	prefetchChunkAhead(unsafe.Pointer(&x[0]), 1<<40)
}

// BenchmarkRingbufOutOfCache reads 128- and 532-byte samples from a ring too
// large for any cache, mapped with 4 KiB pages like a kernel ring: the case
// where the readers' prefetch pays (see prefetchAhead). floor is libbpf's
// loop, which does not prefetch.
func BenchmarkRingbufOutOfCache(b *testing.B) {
	benchOutOfCache(b, fillRingbuf, readRingbufFloor, readRingbuf)
}

// BenchmarkPerfOutOfCache is BenchmarkRingbufOutOfCache for the perf reader.
func BenchmarkPerfOutOfCache(b *testing.B) {
	benchOutOfCache(b, fillPerf, readPerfFloor, readPerf)
}

// benchOutOfCache fills 256 MiB of memory in 4 KiB pages with 128- and then
// 532-byte samples, and reads them with the floor loop and the reader.
func benchOutOfCache(b *testing.B,
	fill func(mem []byte, sample int) (records, rec int),
	floor func(b *testing.B, mem []byte, records, rec int),
	read func(b *testing.B, emit *core.Emitter, n *int, mem []byte, records, rec int),
) {
	for _, sample := range []int{128, 532} {
		b.Run(fmt.Sprint(sample), func(b *testing.B) {
			mem, err := unix.Mmap(-1, 0, 256<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
			if err != nil {
				b.Fatal(err)
			}
			defer unix.Munmap(mem)
			if err := unix.Madvise(mem, unix.MADV_NOHUGEPAGE); err != nil {
				b.Fatal(err)
			}
			records, rec := fill(mem, sample)
			b.Run("floor", func(b *testing.B) { floor(b, mem, records, rec) })
			benchEmitters(b, func(b *testing.B, emit *core.Emitter, n *int) {
				read(b, emit, n, mem, records, rec)
			})
		})
	}
}
