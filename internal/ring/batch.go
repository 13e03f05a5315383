package ring

import (
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/lend"
	"github.com/bpfstream/bpfstream/transport"
)

// batch gathers consecutive records of one buffer for a batch handler
// (core.Emitter.Batched): both readers append to it while they walk a slice
// and hand it over when it is full or the slice ends, one handler call for
// many records.
type batch struct {
	recs  []transport.Record
	bytes uint64
	start uint64 // buffer position of the first record
}

// room returns the batch's records extended to limit records (at least one
// more than it holds), for a reader to write the next ones in place and then
// set recs to what it wrote: building a record on the stack and copying it
// in cost as much as the rest of a record's reading. An empty batch starts at
// buffer position pos.
func (b *batch) room(limit int, pos uint64) []transport.Record {
	n := len(b.recs)
	if n == 0 {
		b.start = pos
	}
	limit = max(limit, n+1)
	if cap(b.recs) < limit {
		grown := make([]transport.Record, n, limit)
		copy(grown, b.recs)
		b.recs = grown
	}
	return b.recs[:limit]
}

// add appends a record of sample, cpu and source, which starts at buffer
// position pos.
func (b *batch) add(sample []byte, cpu, source int32, pos uint64) {
	recs := b.room(len(b.recs)+1, pos)
	r := &recs[len(recs)-1]
	r.Sample, r.CPU, r.Source = sample, cpu, source
	b.recs = recs
	b.bytes += uint64(len(sample))
}

// flush hands the gathered records over; end is the buffer position after
// the last one. When the handler keeps the batch (the borrowed channel API),
// l holds the buffer's consumer position back at its start until the batch
// is released.
func (b *batch) flush(emit *core.Emitter, l *lend.Ledger, end uint64) error {
	if len(b.recs) == 0 {
		return nil
	}
	slot := emit.Slot()
	if slot != nil {
		slot.Offer(l, b.start, end)
	}
	recs, n := b.recs, b.bytes
	b.recs, b.bytes = b.recs[:0], 0
	err := emit.EmitBatch(recs, n)
	if slot != nil {
		slot.Withdraw()
		if slot.Swap != nil {
			// The handler kept recs itself: gather the next batch
			// in the slice it gave back.
			b.recs, slot.Swap = slot.Swap[:0], nil
		}
	}
	return err
}

// batchBytes bounds the buffer bytes one batch spans, so that the position a
// batch holds back from the kernel stays small next to the buffer.
const batchBytes = 64 << 10

// batchSpan is how many bytes of buffer one batch may span, for a slice of at
// most sliceBytes: batchBytes, or a whole slice when the handler keeps its
// batches (emit.Slot, the borrowed channel API). A kept batch holds the
// position back until it is released however short it is, and one cut short
// costs the stream another handler call, lease and copy of its records into
// the batch the receiver gets (see BENCHMARKS.md).
func batchSpan(emit *core.Emitter, sliceBytes int) uint64 {
	if emit.Slot() != nil {
		return max(batchBytes, uint64(sliceBytes))
	}
	return batchBytes
}

// A walker is a ring that batch gathering loops walk (gather): walk writes
// the records from pos on that start before stop and end by end into
// recs[i:], and returns how many recs holds then, the position after the last
// one written and the bytes of their samples; it is a function of its own
// that calls nothing, so that the values its loop keeps stay in registers
// (Go has no callee-saved registers: a loop that calls anything, even only
// for some records, stores and reloads some of them for every record).
// headerOf returns the address and size of the record of a sample walk took.
type walker[P uint64 | uintptr] interface {
	walk(recs []transport.Record, i int, pos, stop, end P) (int, P, uint64)
	headerOf(sample []byte) (unsafe.Pointer, uintptr)
}

// gather is both readers' batch run: it walks rg in chunks of prefetchChunk
// records and prefetches between them (prefetchChunkAhead), and when records
// are too small to prefetch, walks the rest at once. Its arguments and
// results are walk's.
func gather[P uint64 | uintptr, W walker[P]](rg W, recs []transport.Record, i int, pos, stop, end P) (int, P, uint64) {
	var nbytes uint64
	for chunk := min(len(recs), i+prefetchChunk); ; {
		var nb uint64
		i, pos, nb = rg.walk(recs[:chunk], i, pos, stop, end)
		nbytes += nb
		if i < chunk {
			return i, pos, nbytes
		}
		prefetching := prefetchChunkAhead(rg.headerOf(recs[i-1].Sample))
		if i == len(recs) || pos >= stop {
			return i, pos, nbytes
		}
		chunk = len(recs)
		if prefetching {
			chunk = min(len(recs), i+prefetchChunk)
		}
	}
}

// ahead returns the bytes from pos on to limit, or 0 when pos is already at
// or past limit: a walk's limit computed this way cannot wrap around, where
// limit-pos would when a skipped record took pos past limit.
func ahead[P uint64 | uintptr](pos, limit P) P { return max(limit, pos) - pos }
