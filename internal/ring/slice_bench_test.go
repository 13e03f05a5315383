package ring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// BenchmarkRingbufSlice measures the reader's cost per record alone: a ring
// in ordinary memory, filled with 24-byte samples once, read again and again
// (the records stay in cache, unlike a ring the kernel just filled, so this
// is the loop's own cost).
func BenchmarkRingbufSlice(b *testing.B) {
	b.Run("callback", func(b *testing.B) {
		var n int
		benchmarkRingbufSlice(b, core.NewEmitter(func(transport.Record) error { n++; return nil }), &n)
	})
	b.Run("batch", func(b *testing.B) {
		var n int
		benchmarkRingbufSlice(b, core.NewBatchEmitter(func(recs []transport.Record) error { n += len(recs); return nil }, 256, nil), &n)
	})
}

func benchmarkRingbufSlice(b *testing.B, emit *core.Emitter, n *int) {
	const size = 1 << 16
	const sample = 24
	const rec = ringbufHdrSize + sample
	mem := make([]byte, 2*size)
	for off := 0; off+rec <= size; off += rec {
		binary.NativeEndian.PutUint32(mem[off:], sample)
	}
	records := size / rec
	var consPos, prodPos uintptr
	rg := &rbRing{consPos: &consPos, prodPos: &prodPos, data: unsafe.Pointer(&mem[0]), mask: size - 1, size: size}
	r := &Ringbuf{p: &poller{}, opts: Options{SliceRecords: 1 << 30, SliceBytes: 1 << 30}.withDefaults()}
	b.ResetTimer()
	for done := 0; done < b.N; done += records {
		rg.cons, rg.pub, consPos = 0, 0, 0
		prodPos = uintptr(records * rec)
		if _, _, _, err := r.slice(rg, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if *n < b.N {
		b.Fatalf("%d records handed over, want %d", *n, b.N)
	}
}
