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

// The readers trust the kernel's record headers and positions only after
// checking them. These fuzz targets lay arbitrary bytes out as a buffer's
// contents, with arbitrary positions, in memory mapped the way the kernel
// maps it with inaccessible pages around it (guardedRing), and check that
// parsing never reads outside the mapping (a read there faults), never
// panics, never passes the producer's position, and either hands over
// records or reports ErrCorrupt.

const fuzzRingSize = 4096

// fuzzSliceBytes is the ring buffer reader's SliceBytes in the fuzz targets:
// small, so that slices end inside the buffer, also after skipped records.
const fuzzSliceBytes = 256

// inBounds reports whether b lies inside mem.
func inBounds(b, mem []byte) bool {
	if len(b) == 0 {
		return true
	}
	lo := uintptr(unsafe.Pointer(&mem[0]))
	p := uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(mem))
}

// at returns a buffer's contents with rec at offset off, wrapping around
// the end.
func at(off int, rec []byte) []byte {
	b := make([]byte, fuzzRingSize)
	for i, c := range rec {
		b[(off+i)%fuzzRingSize] = c
	}
	return b
}

// noFault runs f, failing t with a clear message if f reads outside a
// mapping.
func noFault(t *testing.T, f func()) {
	t.Helper()
	if faults(f) {
		t.Fatal("read outside the mapped buffer")
	}
}

func FuzzRingbufSlice(f *testing.F) {
	// rec is a ring holding one record header with len word v.
	rec := func(v uint32) []byte {
		b := make([]byte, 32)
		binary.NativeEndian.PutUint32(b, v)
		return b
	}
	f.Add(rec(20), uint32(0), uint16(32))                                  // one 20-byte record
	f.Add(rec(1<<31), uint32(0), uint16(32))                               // busy
	f.Add(rec(1<<30|4), uint32(0), uint16(16))                             // discarded
	f.Add(rec(fuzzRingSize), uint32(0), uint16(fuzzRingSize+8))            // longer than the ring
	f.Add(at(fuzzRingSize-8, rec(20)), uint32(fuzzRingSize-8), uint16(32)) // wraps around the end
	f.Add(rec(20), uint32(3), uint16(32))                                  // misaligned
	// Records, a long discarded one that takes the reader past a slice's
	// SliceBytes, a busy one, and records after them.
	mixed := make([]byte, 0, 1024)
	for _, v := range []uint32{16, 16, 1<<30 | 296, 16, 1<<31 | 16, 16, 16} {
		r := make([]byte, recordSize(uintptr(v&ringbufMaxSample)))
		binary.NativeEndian.PutUint32(r, v)
		mixed = append(mixed, r...)
	}
	f.Add(mixed, uint32(0), uint16(len(mixed)))
	f.Add(at(fuzzRingSize-48, mixed), uint32(fuzzRingSize-48), uint16(len(mixed)))
	mem := guardedRing(f, fuzzRingSize, 2)
	f.Fuzz(func(t *testing.T, data []byte, cons uint32, ahead uint16) {
		// The two copies share their bytes: writing one fills both.
		clear(mem[:fuzzRingSize])
		copy(mem[:fuzzRingSize], data)
		// The per-record and the batch reader (which walk the ring with
		// loops of their own) must agree on every buffer.
		handed, end := fuzzRingbuf(t, mem, cons, ahead, false)
		handedBatched, endBatched := fuzzRingbuf(t, mem, cons, ahead, true)
		if handedBatched != handed || endBatched != end {
			t.Fatalf("batch reader handed over %d records up to %d, per-record reader %d up to %d", handedBatched, endBatched, handed, end)
		}
	})
}

// checkingEmitter returns an emitter that calls check for every record,
// with a per-record handler or with a batch handler given up to limit
// records per call.
func checkingEmitter(batched bool, limit int, check func(transport.Record)) *core.Emitter {
	if !batched {
		return core.NewEmitter(func(rec transport.Record) error { check(rec); return nil })
	}
	return core.NewBatchEmitter(func(recs []transport.Record) error {
		for _, rec := range recs {
			check(rec)
		}
		return nil
	}, limit, nil)
}

// fuzzRingbuf reads the ring in mem from cons to cons+ahead, as
// FuzzRingbufSlice describes, with a per-record or a batch handler, and
// returns the records handed over and the reader's position after them.
func fuzzRingbuf(t *testing.T, mem []byte, cons uint32, ahead uint16, batched bool) (int, uintptr) {
	consPos := uintptr(cons)
	prodPos := consPos + uintptr(ahead)
	rg := &rbRing{
		cons:     consPos,
		position: position[uintptr]{at: &consPos, pub: consPos, stored: consPos},
		prodPos:  &prodPos,
		data:     unsafe.Pointer(&mem[0]),
		mask:     fuzzRingSize - 1,
		size:     fuzzRingSize,
	}
	r := &Ringbuf{p: &poller{}, opts: Options{SliceBytes: fuzzSliceBytes}.withDefaults()}
	handed := 0
	var sliceStart uintptr
	check := func(rec transport.Record) {
		if !inBounds(rec.Sample, mem) {
			t.Fatalf("sample of %d bytes outside the ring", len(rec.Sample))
		}
		// Every record a slice hands over starts within its SliceBytes.
		hp := uintptr(unsafe.Pointer(unsafe.SliceData(rec.Sample))) - ringbufHdrSize
		off := (hp - uintptr(unsafe.Pointer(&mem[0]))) & (fuzzRingSize - 1)
		if rel := (off - sliceStart) & (fuzzRingSize - 1); rel >= fuzzSliceBytes {
			t.Fatalf("record %d bytes into a slice of %d bytes", rel, fuzzSliceBytes)
		}
		handed++
	}
	emit := checkingEmitter(batched, 4, check)
	var firstErr error
	noFault(t, func() {
		for range 64 {
			sliceStart = rg.cons & (fuzzRingSize - 1)
			n, moved, busy, err := r.slice(rg, emit)
			if err != nil {
				firstErr = err
				return
			}
			if n == 0 && moved == 0 || busy {
				return
			}
		}
	})
	if firstErr != nil && !errors.Is(firstErr, ErrCorrupt) {
		t.Fatalf("error %v is not ErrCorrupt", firstErr)
	}
	if cons&7 != 0 || ahead&7 != 0 || int(ahead) > fuzzRingSize {
		if ahead != 0 && (firstErr == nil || handed > 0) {
			t.Fatalf("cons %d, producer %d ahead: handed over %d records, error %v; want none and ErrCorrupt", cons, ahead, handed, firstErr)
		}
	}
	if rg.cons-uintptr(cons) > uintptr(ahead) {
		t.Fatalf("consumed %d bytes past the producer position %d ahead", rg.cons-uintptr(cons), ahead)
	}
	if consPos-uintptr(cons) > uintptr(ahead) {
		t.Fatalf("published position %d bytes ahead, past the producer position %d ahead", consPos-uintptr(cons), ahead)
	}
	return handed, rg.cons
}

func FuzzPerfSlice(f *testing.F) {
	// rec is a record of the given type and size; a sample says it holds
	// 20 bytes.
	rec := func(typ uint32, size uint16) []byte {
		b := make([]byte, max(size, 12))
		binary.NativeEndian.PutUint32(b, typ)
		binary.NativeEndian.PutUint16(b[6:], size)
		if typ == unix.PERF_RECORD_SAMPLE {
			binary.NativeEndian.PutUint32(b[8:], 20)
		}
		return b[:size]
	}
	sample, lost := uint32(unix.PERF_RECORD_SAMPLE), uint32(unix.PERF_RECORD_LOST)
	f.Add(rec(sample, 32), uint32(0), uint16(32))
	f.Add(at(fuzzRingSize-8, rec(sample, 32)), uint32(fuzzRingSize-8), uint16(32)) // wraps around the end
	f.Add(at(fuzzRingSize-8, rec(sample, 8)), uint32(fuzzRingSize-8), uint16(8))   // a sample with no size
	f.Add(at(4080, rec(lost, 24)), uint32(4080), uint16(24))
	f.Add(rec(sample, 32), uint32(0), uint16(fuzzRingSize+8)) // head too far ahead
	f.Add(rec(sample, 32), uint32(0), uint16(4))              // half a header
	mem := guardedRing(f, fuzzRingSize, 1)
	scratch := make([]byte, 1<<16)
	f.Fuzz(func(t *testing.T, data []byte, tail uint32, ahead uint16) {
		clear(mem)
		copy(mem, data)
		// As for ring buffers: the per-record and the batch reader must
		// agree on every buffer.
		handed, end := fuzzPerf(t, mem, scratch, tail, ahead, false)
		handedBatched, endBatched := fuzzPerf(t, mem, scratch, tail, ahead, true)
		if handedBatched != handed || endBatched != end {
			t.Fatalf("batch reader handed over %d records up to %d, per-record reader %d up to %d", handedBatched, endBatched, handed, end)
		}
	})
}

// fuzzPerf reads the perf buffer in mem from tail to tail+ahead, as
// FuzzPerfSlice describes, with a per-record or a batch handler, and returns
// the records handed over and the reader's position after them.
func fuzzPerf(t *testing.T, mem, scratch []byte, tail uint32, ahead uint16, batched bool) (int, uint64) {
	var meta unix.PerfEventMmapPage
	start := uint64(tail)
	meta.Data_tail = start
	meta.Data_head = start + uint64(ahead)
	rg := &perfRing{
		tail:     start,
		position: position[uint64]{at: &meta.Data_tail, pub: start, stored: start},
		meta:     &meta,
		data:     unsafe.Pointer(&mem[0]),
		size:     fuzzRingSize,
		mask:     fuzzRingSize - 1,
	}
	r := &Perf{p: &poller{}, scratch: scratch, opts: PerfOptions{Options: Options{}.withDefaults()}}
	handed := 0
	emit := checkingEmitter(batched, 4, func(rec transport.Record) {
		if !inBounds(rec.Sample, mem) && !inBounds(rec.Sample, r.scratch) {
			t.Fatalf("sample of %d bytes outside the buffer and the scratch space", len(rec.Sample))
		}
		handed++
	})
	var firstErr error
	noFault(t, func() {
		_, _ = rg.unread()
		for range 64 {
			n, moved, err := r.slice(rg, emit)
			if err != nil {
				firstErr = err
				return
			}
			if n == 0 && moved == 0 {
				return
			}
		}
	})
	if firstErr != nil && !errors.Is(firstErr, ErrCorrupt) {
		t.Fatalf("error %v is not ErrCorrupt", firstErr)
	}
	if ahead != 0 && (tail&7 != 0 || ahead < perfHeaderSize || int(ahead) > fuzzRingSize) && (firstErr == nil || handed > 0) {
		t.Fatalf("tail %d, head %d ahead: handed over %d records, error %v; want none and ErrCorrupt", tail, ahead, handed, firstErr)
	}
	if rg.tail-start > uint64(ahead) || meta.Data_tail-start > uint64(ahead) {
		t.Fatalf("read to %d (published %d) bytes ahead, past the head %d ahead", rg.tail-start, meta.Data_tail-start, ahead)
	}
	return handed, rg.tail
}
