package ring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// The perf buffer walk: the record header's checks, a slice of one CPU's
// records handed to a per-record handler (runRecords) or gathered into
// batches (walk, through gather), and the records a run does not take
// (record). The loops' machine-level shape is tuned, as the ring buffer
// walk's (see BENCHMARKS.md).

// header returns the type and size of the record at tail, checking before it
// reads anything that the kernel's head and the reader's tail can be right:
// tail 8-byte aligned (the kernel aligns every record, so a header never
// wraps around the buffer's end), a whole header published, and head at most
// the buffer's size ahead; and after reading it, that the record is at least
// a header and lies before head. A record that passes lies in the buffer.
func (rg *perfRing) header(tail, head uint64) (typ uint32, size uint64, err error) {
	if tail&7 != 0 || head-tail < perfHeaderSize || head-tail > rg.size {
		return 0, 0, fmt.Errorf("ring: perf buffer of CPU %d: tail %d, head %d in a buffer of %d bytes: %w", rg.cpu, tail, head, rg.size, ErrCorrupt)
	}
	hp := unsafe.Add(rg.data, tail&rg.mask)
	typ = *(*uint32)(hp)
	size = uint64(*(*uint16)(unsafe.Add(hp, 6)))
	if size < perfHeaderSize || size > head-tail {
		return 0, 0, fmt.Errorf("ring: perf buffer of CPU %d: record of %d bytes at %d, head %d: %w", rg.cpu, size, tail, head, ErrCorrupt)
	}
	return typ, size, nil
}

// slice hands over up to one slice of rg's records, in order, and publishes
// the new position. It walks the buffer in runs (runRecords, runBatch) that
// take whole samples not wrapping around the buffer's end and look at nothing
// else; any other record (one that wraps, a lost-sample record, a corrupt
// one) ends the run and goes through record, one at a time.
func (r *Perf) slice(rg *perfRing, emit *core.Emitter) (n int, moved uint64, err error) {
	tail := rg.tail
	head := atomic.LoadUint64(&rg.meta.Data_head)
	if head == tail {
		return 0, 0, nil
	}
	start := tail
	limitRecords := r.opts.SliceRecords
	limitBytes := uint64(r.opts.SliceBytes)
	publishBytes := uint64(r.opts.PublishBytes)
	batched := emit.Batched()
	b := &r.batch
	for {
		// A run takes only records that lie before head, which is at
		// most the buffer's size ahead of an aligned tail: record checks
		// that, reporting ErrCorrupt, for the first record it sees.
		var rn int
		if tail&7 == 0 && head-tail <= rg.size {
			if batched {
				rn, tail, err = r.runBatch(rg, emit, tail, head, start+limitBytes, limitRecords-n)
			} else {
				count := emit.Count()
				tail, err = r.runRecords(rg, emit, tail, head, min(start+limitBytes, rg.pub+publishBytes), limitRecords-n)
				rn = int(emit.Count() - count)
			}
			n += rn
		}
		if err != nil || n >= limitRecords || tail-start >= limitBytes {
			break
		}
		if !batched && emit.Due() {
			if err = emit.Checkpoint(); err != nil {
				break
			}
		}
		if r.p.closed.Load() {
			break
		}
		if tail != head && (rn == 0 || !rg.takes(tail, head)) {
			// The run stopped at a record it does not take.
			var size uint64
			rn, size, err = r.record(rg, emit, tail, head)
			n += rn
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					tail += size // the handler saw the record
				}
				break
			}
			tail += size
			if n >= limitRecords || r.p.closed.Load() || tail-start >= limitBytes {
				break
			}
		}
		if tail == head {
			if head = atomic.LoadUint64(&rg.meta.Data_head); head == tail {
				break
			}
		}
		// Never past records gathered but not yet handed over: while a
		// batch is being gathered, its flush comes first (within
		// its span, batchSpan).
		if len(b.recs) == 0 && tail-rg.pub >= publishBytes {
			rg.store(tail)
		}
	}
	if len(b.recs) > 0 {
		// The records gathered before the slice ended (also by a corrupt
		// record: those before it are sound) are handed over now.
		rg.tail = b.start
		if ferr := b.flush(emit, rg.lent, tail); ferr != nil && err == nil {
			err = ferr
		}
	}
	rg.tail = tail
	rg.store(tail)
	return n, tail - start, err
}

// perfSampleHeader is the bytes of a sample record before its data: the
// record header and the raw data's u32 size.
const perfSampleHeader = perfHeaderSize + 4

// A run takes BPF sample records only: the record header, the data's u32 size
// and the data, padded to 8 bytes with the padding counted in the data's size
// (the kernel's layout for bpf_perf_event_output), so a record's data is its
// size less perfSampleHeader and its data size need not be kept apart. Any
// other record goes through record, which takes every layout.

// bounds returns the bounds of a run from tail that may go on to stop: its
// records end by end (head, or the buffer's end: a run does not wrap around
// it) and start before last, which leaves room for a sample's header and data
// size, so that sample may read them before it knows the record's size is
// sound. last <= tail when no sample fits.
func (rg *perfRing) bounds(tail, head, stop uint64) (end, last uint64) {
	end = min(head, tail|rg.mask+1)
	if end-tail < perfSampleHeader {
		return end, tail
	}
	return end, min(stop, end-perfSampleHeader+1)
}

// sample returns the record at tail, which is before last (bounds), and its
// size, if a run takes it: a sample record, 8-byte aligned and ending by end.
func (rg *perfRing) sample(tail, end uint64) (hp unsafe.Pointer, size uint64, ok bool) {
	hp = unsafe.Add(rg.data, tail&rg.mask)
	size, ok = runSample(hp, end-tail)
	return hp, size, ok
}

// runSample returns the size of the record at hp, which has room bytes of
// published data from hp on and room for a header and data size at least, and
// whether a run takes it: a sample record in the layout a run takes, 8-byte
// aligned, ending within room.
func runSample(hp unsafe.Pointer, room uint64) (size uint64, ok bool) {
	size = uint64(*(*uint16)(unsafe.Add(hp, 6)))
	return size, *(*uint32)(hp) == perfRecordSample && size&7 == 0 && size <= room &&
		uint64(*(*uint32)(unsafe.Add(hp, perfHeaderSize)))+perfSampleHeader == size
}

// perfSampleAt returns the data of the sample record of size bytes at hp.
func perfSampleAt(hp unsafe.Pointer, size uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(hp, perfSampleHeader)), size-perfSampleHeader)
}

// takes reports whether a run takes the record at tail.
func (rg *perfRing) takes(tail, head uint64) bool {
	end, last := rg.bounds(tail, head, head)
	if tail >= last {
		return false
	}
	_, _, ok := rg.sample(tail, end)
	return ok
}

// runRecords hands the samples from tail on to the per-record handler, up to
// stop (a buffer position), at most limit records and up to the emitter's Until.
// It returns the position after the records handed over, which the emitter
// counts. As in the ringbuf reader's loop, few values stay live across the
// handler call: each one is spilled and reloaded for every record.
func (r *Perf) runRecords(rg *perfRing, emit *core.Emitter, tail, head, stop uint64, limit int) (_ uint64, err error) {
	h := emit.Handler()
	closed := &r.p.closed
	until := min(emit.Until(), emit.Count()+uint64(limit))
	end, last := rg.bounds(tail, head, stop)
	for tail < last && emit.Count() < until {
		hp, size, ok := rg.sample(tail, end)
		if !ok {
			break
		}
		prefetchAhead(hp, uintptr(size))
		// Published as consumed only after the handler returns: the
		// next Drain hands a record whose handler panicked over again.
		rg.tail = tail
		herr := h(transport.Record{Sample: perfSampleAt(hp, size), CPU: int32(rg.cpu)})
		emit.Handed(int(size - perfSampleHeader))
		tail += size
		if herr != nil {
			return tail, emit.Failed(herr)
		}
		if closed.Load() {
			// Once Close has returned, the handler is not called
			// again.
			break
		}
	}
	return tail, nil
}

// runBatch gathers the samples from tail on into the batch, up to stop and at
// most limit records, and hands the batch over when it is full. It returns
// the records gathered and the position after them.
func (r *Perf) runBatch(rg *perfRing, emit *core.Emitter, tail, head, stop uint64, limit int) (n int, _ uint64, err error) {
	b := &r.batch
	span := batchSpan(emit, r.opts.SliceBytes)
	for n < limit {
		recs := b.room(emit.BatchLimit(), tail)
		held, full := len(b.recs), len(recs)
		end, last := rg.bounds(tail, head, min(stop, b.start+span))
		i, next, nbytes := gather(rg, recs[:min(full, held+limit-n)], held, tail, last, end)
		n += i - held
		tail = next
		b.recs, b.bytes = recs[:i], b.bytes+nbytes
		if i < full && tail-b.start < span {
			return n, tail, nil // the run ended before the batch was full
		}
		rg.tail = b.start
		if err = b.flush(emit, rg.lent, tail); err != nil || r.p.closed.Load() {
			return n, tail, err
		}
		rg.tail = tail // handed over: a later panic must not hand it again
	}
	return n, tail, nil
}

// headerOf returns the address and size of the record whose sample a run
// took (see gather).
func (rg *perfRing) headerOf(sample []byte) (unsafe.Pointer, uintptr) {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(sample)), -perfSampleHeader), uintptr(len(sample) + perfSampleHeader)
}

// walk writes the samples from tail on into recs[i:], those that start before
// last and end by end (bounds), and returns how many recs holds then, the
// position after the last one written and the bytes of their samples (see
// gather, which calls it). It walks offsets from the first record's address:
// a run does not wrap around the buffer's end.
func (rg *perfRing) walk(recs []transport.Record, i int, tail, last, end uint64) (int, uint64, uint64) {
	base := unsafe.Add(rg.data, tail&rg.mask)
	cpu := int32(rg.cpu)
	// Neither can wrap, whatever bounds computed.
	limit, avail := ahead(tail, last), ahead(tail, end)
	var nbytes, off uint64
	j := i
	for ; j < len(recs) && off < limit; j++ {
		hp := unsafe.Add(base, off)
		size, ok := runSample(hp, avail-off)
		if !ok {
			break
		}
		rec := &recs[j]
		rec.Sample = perfSampleAt(hp, size)
		rec.CPU, rec.Source = cpu, 0
		nbytes += size - perfSampleHeader
		off += size
	}
	return j, tail + off, nbytes
}
