package ring

import (
	"fmt"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// The perf records a run does not take, one at a time: samples that wrap
// around the buffer's end (copied), lost-sample records (counted), other
// types (skipped) and corrupt ones (ErrCorrupt).

// record hands over the record at tail, whatever it is: a sample (one that
// wraps around the buffer's end is copied first), a lost-sample record
// (counted), another type (skipped), or a corrupt one (ErrCorrupt). It
// returns the samples handed over (0 or 1) and the record's size.
func (r *Perf) record(rg *perfRing, emit *core.Emitter, tail, head uint64) (n int, size uint64, err error) {
	var typ uint32
	if typ, size, err = rg.header(tail, head); err != nil {
		return 0, 0, err
	}
	b := &r.batch
	off := tail & rg.mask
	hp := unsafe.Add(rg.data, off)
	rec := hp
	if off+size > rg.size {
		// Wraps around the end: copy both parts together, into the
		// scratch buffer, which a batch being gathered may still point
		// into (hand it over first), or, when the batch may be kept,
		// into memory of its own.
		buf := r.scratch
		if emit.Slot() != nil {
			buf = make([]byte, size)
		} else if len(b.recs) > 0 {
			rg.tail = b.start
			if err = b.flush(emit, rg.lent, tail); err != nil {
				return 0, 0, err
			}
		}
		first := rg.size - off
		copy(buf, unsafe.Slice((*byte)(hp), first))
		copy(buf[first:], unsafe.Slice((*byte)(rg.data), size-first))
		rec = unsafe.Pointer(&buf[0])
	}
	switch typ {
	case perfRecordSample:
		if size < perfSampleHeader {
			return 0, size, fmt.Errorf("ring: perf buffer of CPU %d: sample record of %d bytes has no room for its size: %w", rg.cpu, size, ErrCorrupt)
		}
		raw := uint64(*(*uint32)(unsafe.Add(rec, perfHeaderSize)))
		if perfSampleHeader+raw > size {
			return 0, size, fmt.Errorf("ring: perf buffer of CPU %d: sample of %d bytes in a record of %d: %w", rg.cpu, raw, size, ErrCorrupt)
		}
		sample := unsafe.Slice((*byte)(unsafe.Add(rec, perfSampleHeader)), raw)
		if emit.Batched() {
			b.add(sample, int32(rg.cpu), 0, tail)
			if len(b.recs) >= emit.BatchLimit() || tail+size-b.start >= batchSpan(emit, r.opts.SliceBytes) {
				rg.tail = b.start
				err = b.flush(emit, rg.lent, tail+size)
			}
			return 1, size, err
		}
		rg.tail = tail
		return 1, size, emit.Emit(transport.Record{Sample: sample, CPU: int32(rg.cpu)})
	case perfRecordLost:
		if size >= perfHeaderSize+16 {
			// struct { u64 id; u64 lost; } after the header.
			lost := *(*uint64)(unsafe.Add(rec, perfHeaderSize+8))
			// Counted now, and consumed even if OnLost panics: the
			// records gathered before it are handed over first, so
			// that the position can move past it (a panic must
			// neither hand them over again nor count the loss twice).
			if len(b.recs) > 0 {
				rg.tail = b.start
				if err = b.flush(emit, rg.lent, tail); err != nil {
					return 0, 0, err // the loss is counted next time
				}
			}
			rg.tail = tail + size
			rg.addLost(r.opts.Counters, lost)
			if r.opts.OnLost != nil {
				r.opts.OnLost(rg.cpu, lost)
			}
		}
	default:
		// Other record types (none are expected for a BPF output event)
		// are skipped.
	}
	return 0, size, nil
}
