package ring

import (
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// TestPrefetchNeverFaults gives prefetch addresses no mapping backs, as
// prefetchAhead's guesses may be: past a ring's end, the null page, the top
// of the address space.
func TestPrefetchNeverFaults(t *testing.T) {
	mem, err := unix.Mmap(-1, 0, 2*unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(&mem[0]))
	if err := unix.Munmap(mem); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []uintptr{0, 1, base, base + uintptr(unix.Getpagesize()), ^uintptr(0), ^uintptr(0) &^ 63} {
		prefetch(addr)
	}
	var x [64]byte
	prefetchAhead(unsafe.Pointer(&x[0]), ^uintptr(0)/prefetchDistance) // wraps around
	prefetchAhead(unsafe.Pointer(&x[0]), 1<<40)
}

// BenchmarkRingbufOutOfCache reads 532-byte samples from a ring too large
// for any cache, mapped with 4 KiB pages like a kernel ring: the case where
// the readers' prefetch pays (see prefetchAhead). floor is libbpf's loop,
// which does not prefetch.
func BenchmarkRingbufOutOfCache(b *testing.B) {
	for _, sample := range []int{128, 532} {
		b.Run(fmt.Sprint(sample), func(b *testing.B) { benchOutOfCache(b, sample) })
	}
}

func benchOutOfCache(b *testing.B, sample int) {
	const size = 256 << 20
	rec := ringbufHdrSize + (sample+7)&^7
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Munmap(mem)
	if err := unix.Madvise(mem, unix.MADV_NOHUGEPAGE); err != nil {
		b.Fatal(err)
	}
	for off := 0; off+rec <= size; off += rec {
		binary.NativeEndian.PutUint32(mem[off:], uint32(sample))
	}
	records := size / rec
	data := unsafe.Pointer(&mem[0])
	b.Run("floor", func(b *testing.B) {
		var n int
		h := transport.Handler(func(transport.Record) error { n++; return nil })
		var consPos uintptr
		for done := 0; done < b.N; done += records {
			consPos = 0
			floorLoop(data, size-1, &consPos, uintptr(records*rec), h)
		}
		if n < b.N {
			b.Fatalf("%d records handed over, want %d", n, b.N)
		}
	})
	benchEmitters(b, func(b *testing.B, emit *core.Emitter, n *int) {
		var consPos, prodPos uintptr
		rg := &rbRing{consPos: &consPos, prodPos: &prodPos, data: data, mask: size - 1, size: size}
		r := &Ringbuf{p: &poller{}, opts: Options{SliceRecords: 1 << 30, SliceBytes: 1 << 30}.withDefaults()}
		for done := 0; done < b.N; done += records {
			rg.cons, rg.pub, consPos = 0, 0, 0
			prodPos = uintptr(records * rec)
			if _, _, _, err := r.slice(rg, emit); err != nil {
				b.Fatal(err)
			}
		}
		if *n < b.N {
			b.Fatalf("%d records handed over, want %d", *n, b.N)
		}
	})
}
