package ring

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// The benchmarks below measure the readers' cost per record alone: a buffer
// in ordinary memory, filled with 24-byte samples once, read again and again
// (the records stay in cache, unlike a buffer the kernel just filled, so this
// is the loops' own cost).
const (
	benchBufferSize = 1 << 16
	benchSample     = 24
)

// benchEmitters runs bench with a per-record and a batch handler that count.
func benchEmitters(b *testing.B, bench func(b *testing.B, emit *core.Emitter, n *int)) {
	b.Run("callback", func(b *testing.B) {
		var n int
		bench(b, core.NewEmitter(func(transport.Record) error { n++; return nil }), &n)
	})
	b.Run("batch", func(b *testing.B) {
		var n int
		bench(b, core.NewBatchEmitter(func(recs []transport.Record) error { n += len(recs); return nil }, 256, nil), &n)
	})
}

func BenchmarkRingbufSlice(b *testing.B) {
	mem := make([]byte, 2*benchBufferSize)
	records, rec := fillRingbuf(mem[:benchBufferSize], benchSample)
	benchEmitters(b, func(b *testing.B, emit *core.Emitter, n *int) {
		readRingbuf(b, emit, n, mem[:benchBufferSize], records, rec)
	})
}

// fillRingbuf fills mem with ringbuf records of sample bytes and returns how
// many it holds and their size.
func fillRingbuf(mem []byte, sample int) (records, rec int) {
	rec = int(recordSize(uintptr(sample)))
	for off := 0; off+rec <= len(mem); off += rec {
		binary.NativeEndian.PutUint32(mem[off:], uint32(sample))
	}
	return len(mem) / rec, rec
}

// readRingbuf reads the records fillRingbuf wrote into mem (a power of two
// long) with the ringbuf reader, again and again until it has handed b.N
// over to emit, whose handler counts them in n.
func readRingbuf(b *testing.B, emit *core.Emitter, n *int, mem []byte, records, rec int) {
	var consPos, prodPos uintptr
	rg := &rbRing{position: position[uintptr]{at: &consPos, pub: 0, stored: 0}, prodPos: &prodPos, data: unsafe.Pointer(&mem[0]), mask: uintptr(len(mem) - 1), size: len(mem)}
	r := &Ringbuf{p: &poller{}, opts: Options{SliceRecords: 1 << 30, SliceBytes: 1 << 30}.withDefaults()}
	b.ResetTimer()
	for done := 0; done < b.N; done += records {
		rg.cons, rg.pub, rg.stored, consPos = 0, 0, 0, 0
		// No more than b.N in all: a pass over a large ring would
		// otherwise swamp a small b.N.
		prodPos = uintptr(min(records, b.N-done) * rec)
		if _, _, _, err := r.slice(rg, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if *n < b.N {
		b.Fatalf("%d records handed over, want %d", *n, b.N)
	}
}

// fillPerf fills mem with perf records of sample bytes laid out as
// bpf_perf_event_output lays them out, and returns how many it holds and
// their size.
func fillPerf(mem []byte, sample int) (records, rec int) {
	rec = (perfSampleHeader + sample + 7) &^ 7
	for off := 0; off+rec <= len(mem); off += rec {
		binary.NativeEndian.PutUint32(mem[off:], perfRecordSample)
		binary.NativeEndian.PutUint16(mem[off+6:], uint16(rec))
		binary.NativeEndian.PutUint32(mem[off+perfHeaderSize:], uint32(rec-perfSampleHeader))
	}
	return len(mem) / rec, rec
}

// readPerf reads the records fillPerf wrote into mem (a power of two long)
// with the perf reader, again and again until it has handed b.N over to
// emit, whose handler counts them in n.
func readPerf(b *testing.B, emit *core.Emitter, n *int, mem []byte, records, rec int) {
	var meta unix.PerfEventMmapPage
	rg := &perfRing{position: position[uint64]{at: &meta.Data_tail, pub: 0, stored: 0}, meta: &meta, data: unsafe.Pointer(&mem[0]), size: uint64(len(mem)), mask: uint64(len(mem) - 1)}
	r := &Perf{p: &poller{}, opts: PerfOptions{Options: Options{SliceRecords: 1 << 30, SliceBytes: 1 << 30}.withDefaults()}}
	b.ResetTimer()
	for done := 0; done < b.N; done += records {
		rg.tail, rg.pub, rg.stored, meta.Data_tail = 0, 0, 0, 0
		// No more than b.N in all, as in readRingbuf.
		meta.Data_head = uint64(min(records, b.N-done) * rec)
		if _, _, err := r.slice(rg, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if *n < b.N {
		b.Fatalf("%d records handed over, want %d", *n, b.N)
	}
}

func BenchmarkPerfSlice(b *testing.B) {
	mem := make([]byte, benchBufferSize)
	records, rec := fillPerf(mem, benchSample)
	benchEmitters(b, func(b *testing.B, emit *core.Emitter, n *int) {
		readPerf(b, emit, n, mem, records, rec)
	})
}

// BenchmarkRingbufFloor is the least a Go reader can do per record, for
// comparison with BenchmarkRingbufSlice: libbpf's ring_buffer__consume loop
// (load the header, call the handler, publish the position) and nothing
// else: no limits, no counting, no look at the context or Close.
func BenchmarkRingbufFloor(b *testing.B) {
	mem := make([]byte, 2*benchBufferSize)
	records, rec := fillRingbuf(mem[:benchBufferSize], benchSample)
	readRingbufFloor(b, mem[:benchBufferSize], records, rec)
}

// readRingbufFloor is readRingbuf with floorLoop.
func readRingbufFloor(b *testing.B, mem []byte, records, rec int) {
	var n int
	h := transport.Handler(func(transport.Record) error { n++; return nil })
	var consPos uintptr
	b.ResetTimer()
	for done := 0; done < b.N; done += records {
		consPos = 0
		floorLoop(unsafe.Pointer(&mem[0]), uintptr(len(mem)-1), &consPos, uintptr(min(records, b.N-done)*rec), h)
	}
	b.StopTimer()
	if n < b.N {
		b.Fatalf("%d records handed over, want %d", n, b.N)
	}
}

//go:noinline
func floorLoop(data unsafe.Pointer, mask uintptr, consPos *uintptr, prod uintptr, h transport.Handler) {
	for cons := *consPos; cons < prod; {
		hdr := atomic.LoadUint32((*uint32)(unsafe.Add(data, cons&mask)))
		if hdr&ringbufBusyBit != 0 {
			return
		}
		ln := uintptr(hdr &^ (ringbufBusyBit | ringbufDiscardBit))
		if hdr&ringbufDiscardBit == 0 {
			if h(transport.Record{Sample: unsafe.Slice((*byte)(unsafe.Add(data, (cons+ringbufHdrSize)&mask)), ln), CPU: transport.NoCPU}) != nil {
				return
			}
		}
		cons += ringbufHdrSize + (ln+7)&^7
		// smp_store_release in libbpf: a plain store on amd64.
		storeRelease(consPos, cons)
	}
}

// BenchmarkPerfFloor is BenchmarkRingbufFloor for perf buffers: libbpf's
// perf_buffer__consume loop (load the header, call the handler for a sample,
// advance by the record's size, publish the tail once at the end) and
// nothing else.
func BenchmarkPerfFloor(b *testing.B) {
	mem := make([]byte, benchBufferSize)
	records, rec := fillPerf(mem, benchSample)
	readPerfFloor(b, mem, records, rec)
}

// readPerfFloor is readPerf with perfFloorLoop.
func readPerfFloor(b *testing.B, mem []byte, records, rec int) {
	var n int
	h := transport.Handler(func(transport.Record) error { n++; return nil })
	var meta unix.PerfEventMmapPage
	b.ResetTimer()
	for done := 0; done < b.N; done += records {
		meta.Data_tail = 0
		meta.Data_head = uint64(min(records, b.N-done) * rec)
		perfFloorLoop(unsafe.Pointer(&mem[0]), uint64(len(mem)-1), &meta, h)
	}
	b.StopTimer()
	if n < b.N {
		b.Fatalf("%d records handed over, want %d", n, b.N)
	}
}

//go:noinline
func perfFloorLoop(data unsafe.Pointer, mask uint64, meta *unix.PerfEventMmapPage, h transport.Handler) {
	head := atomic.LoadUint64(&meta.Data_head)
	tail := meta.Data_tail
	for tail < head {
		hp := unsafe.Add(data, tail&mask)
		size := uint64(*(*uint16)(unsafe.Add(hp, 6)))
		if *(*uint32)(hp) == perfRecordSample {
			ln := *(*uint32)(unsafe.Add(hp, perfHeaderSize))
			if h(transport.Record{Sample: unsafe.Slice((*byte)(unsafe.Add(hp, perfSampleHeader)), ln), CPU: 0}) != nil {
				break
			}
		}
		tail += size
	}
	atomic.StoreUint64(&meta.Data_tail, tail)
}
