package ring

import (
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
// the last one, pub the position the reader has published. When the handler
// keeps the batch (the borrowed channel API), l holds the buffer's consumer
// position back at its start until the batch is released.
func (b *batch) flush(emit *core.Emitter, l *lend.Ledger, end, pub uint64) error {
	if len(b.recs) == 0 {
		return nil
	}
	slot := emit.Slot()
	if slot != nil {
		slot.Offer(l, b.start, end, pub)
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
