package ring

import (
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// The readers trust the kernel's record headers only as far as they must.
// These fuzz targets lay arbitrary bytes out as a ring's contents and check
// that parsing them never reads outside the buffer, never panics, and either
// hands over records or reports ErrCorrupt.

const fuzzRingSize = 4096

// inBounds reports whether b lies inside mem.
func inBounds(b, mem []byte) bool {
	if len(b) == 0 {
		return true
	}
	lo := uintptr(unsafe.Pointer(&mem[0]))
	p := uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(mem))
}

func FuzzRingbufSlice(f *testing.F) {
	rec := make([]byte, 32)
	binary.NativeEndian.PutUint32(rec, 20) // one 20-byte record
	f.Add(rec, uint16(32))
	binary.NativeEndian.PutUint32(rec, 1<<31) // busy
	f.Add(rec, uint16(32))
	binary.NativeEndian.PutUint32(rec, 1<<30|4) // discarded
	f.Add(rec, uint16(16))
	f.Fuzz(func(t *testing.T, data []byte, prod uint16) {
		// The kernel maps the data pages twice in a row, so a record that
		// wraps reads on into the second copy.
		mem := make([]byte, 2*fuzzRingSize)
		copy(mem, data)
		copy(mem[fuzzRingSize:], mem[:fuzzRingSize])
		var consPos uintptr
		prodPos := uintptr(prod) % (fuzzRingSize + 1) &^ 7
		rg := &rbRing{
			consPos: &consPos,
			prodPos: &prodPos,
			data:    unsafe.Pointer(&mem[0]),
			mask:    fuzzRingSize - 1,
			size:    fuzzRingSize,
		}
		r := &Ringbuf{p: &poller{}, opts: Options{}.withDefaults()}
		var total uintptr
		for range 64 {
			n, moved, busy, err := r.slice(rg, core.NewEmitter(func(rec transport.Record) error {
				if !inBounds(rec.Sample, mem) {
					t.Fatalf("sample of %d bytes outside the ring", len(rec.Sample))
				}
				return nil
			}))
			total += moved
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				break
			}
			if n == 0 && moved == 0 || busy {
				break
			}
		}
		if total > prodPos {
			t.Fatalf("consumed %d bytes past the producer position %d", total, prodPos)
		}
		if consPos > prodPos {
			t.Fatalf("published position %d past the producer position %d", consPos, prodPos)
		}
	})
}

func FuzzPerfSlice(f *testing.F) {
	rec := make([]byte, 32)
	binary.NativeEndian.PutUint32(rec, unix.PERF_RECORD_SAMPLE)
	binary.NativeEndian.PutUint16(rec[6:], 32)
	binary.NativeEndian.PutUint32(rec[8:], 20)
	f.Add(rec, uint16(32), uint16(0))
	binary.NativeEndian.PutUint32(rec, unix.PERF_RECORD_LOST)
	binary.NativeEndian.PutUint16(rec[6:], 24)
	f.Add(rec, uint16(24), uint16(4080))
	f.Fuzz(func(t *testing.T, data []byte, head, tail uint16) {
		mem := make([]byte, fuzzRingSize)
		copy(mem, data)
		var meta unix.PerfEventMmapPage
		start := uint64(tail) &^ 7
		meta.Data_head = start + uint64(head)%(fuzzRingSize+1)
		rg := &perfRing{
			tail: start,
			pub:  start,
			meta: &meta,
			data: unsafe.Pointer(&mem[0]),
			size: fuzzRingSize,
			mask: fuzzRingSize - 1,
		}
		r := &Perf{p: &poller{}, scratch: make([]byte, 1<<16), opts: PerfOptions{Options: Options{}.withDefaults()}}
		for range 64 {
			n, moved, err := r.slice(rg, core.NewEmitter(func(rec transport.Record) error {
				if !inBounds(rec.Sample, mem) && !inBounds(rec.Sample, r.scratch) {
					t.Fatalf("sample of %d bytes outside the buffer and the scratch space", len(rec.Sample))
				}
				return nil
			}))
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v is not ErrCorrupt", err)
				}
				break
			}
			if n == 0 && moved == 0 {
				break
			}
		}
		if rg.tail > meta.Data_head || meta.Data_tail > meta.Data_head {
			t.Fatalf("read to %d (published %d) past the head %d", rg.tail, meta.Data_tail, meta.Data_head)
		}
		_ = rg.unread()
	})
}
