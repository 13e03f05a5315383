package ring

import (
	"sync/atomic"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// The ring buffer walk: a slice of one ring's records handed to a per-record
// handler (runRecords) or gathered into batches (walk, through gather). The
// loops' machine-level shape is tuned (see BENCHMARKS.md): every value live
// across a handler call costs a spill and a reload per record, and a loop
// that calls nothing keeps its values in registers.

// slice hands over up to one slice of rg's committed records, in order, and
// publishes the new position.
func (r *Ringbuf) slice(rg *rbRing, emit *core.Emitter) (n int, moved uintptr, busy bool, err error) {
	cons := rg.cons
	prod := atomic.LoadUintptr(rg.prodPos)
	if prod == cons {
		return 0, 0, false, nil
	}
	if err := rg.check(cons, prod); err != nil {
		return 0, 0, false, err
	}
	var end, last uintptr
	if emit.Batched() {
		n, end, last, prod, busy, err = r.sliceBatches(rg, emit, cons, prod)
	} else {
		n, end, last, prod, busy, err = r.sliceRecords(rg, emit, cons, prod)
	}
	rg.cons = end
	if err == nil && !busy && n > 0 && end == prod && last >= rg.pub {
		// Caught up with the producer: publish all but the last record.
		// With the kernel's adaptive wake-ups a commit wakes the reader
		// when it starts at the published position; holding one record
		// back means the records committed while we are still reading
		// (or polling, in Drain) cost the producer no wake-up. Drain
		// publishes everything before it returns.
		rg.store(last)
	} else {
		rg.store(end)
	}
	return n, end - cons, busy, err
}

// sliceRecords is slice for a per-record handler. It walks the ring in runs
// that look at nothing but the ring: a run ends where the slice's limits, the
// publish threshold or the producer position are reached, or once the
// emitter's Count reaches its Until; only then are those, the
// context and Close looked at. It returns the records handed over, the
// position after them, the position of the last one, the producer position
// last read, and what slice returns.
//
// Every value live across the handler call costs a spill and a reload per
// record (Go has no callee-saved registers), so the runs are a function of
// their own (runRecords), which does not see the slice's limits, and keep
// few values: the records handed over are the emitter's Count, and the
// position of the last one is rg.cons, which is set before each call anyway
// (for a handler that panics).
func (r *Ringbuf) sliceRecords(rg *rbRing, emit *core.Emitter, cons, prod uintptr) (n int, end, last, _ uintptr, busy bool, err error) {
	start := cons
	first := emit.Count()
	limit := first + uint64(r.opts.SliceRecords)
	limitBytes := uintptr(r.opts.SliceBytes)
	publishBytes := uintptr(r.opts.PublishBytes)
	for {
		// Positions are 64-bit byte counts that never wrap, so a run can
		// compare them directly.
		var done bool
		cons, done, busy, err = r.runRecords(rg, emit, cons, prod, min(prod, start+limitBytes, rg.pub+publishBytes), min(emit.Until(), limit))
		if done {
			break
		}
		if emit.Count() >= limit || cons-start >= limitBytes {
			break
		}
		if emit.Due() {
			if err = emit.Checkpoint(); err != nil {
				break
			}
		}
		var more bool
		if prod, more, err = rg.more(cons, prod); !more {
			break
		}
		// Only once more records are known to follow: a slice that
		// caught up holds its last record back (see slice).
		if cons-rg.pub >= publishBytes {
			rg.store(cons)
		}
	}
	return int(emit.Count() - first), cons, rg.cons, prod, busy, err
}

// runRecords hands the records from cons on to the per-record handler, up to
// stop (at most prod) and until the emitter's Count reaches until. It returns
// the position after them, and done when the slice ends there: at a busy
// record (busy), at a corrupt one or the handler's error (err), or closed.
func (r *Ringbuf) runRecords(rg *rbRing, emit *core.Emitter, cons, prod, stop uintptr, until uint64) (_ uintptr, done, busy bool, err error) {
	h := emit.Handler()
	closed := &r.p.closed
	for cons < stop {
		hp, hdr, ln, next := rg.header(cons)
		if hdr&ringbufBusyBit != 0 {
			return cons, true, true, nil
		}
		prefetchAhead(hp, next-cons)
		if next-cons > prod-cons {
			return cons, true, false, recordBeyondProducer(rg.source, ln, cons, prod)
		}
		if hdr&ringbufDiscardBit == 0 {
			// Published as consumed only after the handler returns:
			// the next Drain hands a record whose handler panicked
			// over again.
			rg.cons = cons
			herr := h(transport.Record{Sample: sampleAt(hp, ln), CPU: transport.NoCPU, Source: int32(rg.source)})
			emit.Handed(int(ln))
			if herr != nil {
				// Handed over: the handler saw it.
				return next, true, false, emit.Failed(herr)
			}
			if closed.Load() {
				// Once Close has returned, the handler is not
				// called again.
				return next, true, false, nil
			}
			if emit.Count() >= until {
				return next, false, false, nil
			}
		}
		cons = next
	}
	return cons, false, false, nil
}

// sliceBatches is sliceRecords for a batch handler: its runs gather records
// into the batch, which is handed over when it holds emit.BatchLimit records
// or spans its span of ring (batchSpan), and when the slice ends.
func (r *Ringbuf) sliceBatches(rg *rbRing, emit *core.Emitter, cons, prod uintptr) (n int, end, last, _ uintptr, busy bool, err error) {
	start := cons
	last = cons
	limitRecords := r.opts.SliceRecords
	limitBytes := uintptr(r.opts.SliceBytes)
	publishBytes := uintptr(r.opts.PublishBytes)
	b := &r.batch
	span := uintptr(batchSpan(emit, r.opts.SliceBytes))
run:
	for {
		recs := b.room(emit.BatchLimit(), uint64(cons))
		held := len(b.recs)
		stop := min(prod, start+limitBytes, uintptr(b.start)+span)
		recs = recs[:min(len(recs), held+limitRecords-n)]
		i, next, nbytes := gather(rg, recs, held, cons, stop, prod)
		if i > held {
			n += i - held
			last = next - recordSize(uintptr(len(recs[i-1].Sample)))
		}
		cons = next
		b.recs, b.bytes = recs[:i], b.bytes+nbytes
		if i < len(recs) && cons < stop {
			// gather stopped at a record it does not take. Its header
			// is read again, and may have changed since: a record
			// busy then may be committed now, and is taken next.
			_, hdr, ln, after := rg.header(cons)
			switch {
			case hdr&ringbufBusyBit != 0:
				busy = true
			case after-cons > prod-cons:
				err = recordBeyondProducer(rg.source, ln, cons, prod)
			case hdr&ringbufDiscardBit != 0:
				cons = after // skipped
				continue
			default:
				continue
			}
		}
		if busy || err != nil {
			break
		}
		if i == len(recs) || cons-uintptr(b.start) >= span {
			// Published as consumed only after the handler returns.
			rg.cons = uintptr(b.start)
			if err = b.flush(emit, rg.lent, uint64(cons)); err != nil || r.p.closed.Load() {
				break run
			}
		}
		if n >= limitRecords || cons-start >= limitBytes {
			break
		}
		var more bool
		if prod, more, err = rg.more(cons, prod); !more {
			break
		}
		// Only once more records are known to follow, and never past
		// records gathered but not yet handed over: while a batch is
		// being gathered, its flush comes first (within its span, batchSpan).
		if len(b.recs) == 0 && cons-rg.pub >= publishBytes {
			rg.store(cons)
		}
	}
	if len(b.recs) > 0 {
		// The records gathered before the slice ended (also by a corrupt
		// record: those before it are sound) are handed over now.
		rg.cons = uintptr(b.start)
		if ferr := b.flush(emit, rg.lent, uint64(cons)); ferr != nil && err == nil {
			err = ferr
		}
	}
	return n, cons, last, prod, busy, err
}

// walk writes the records from cons on into recs[i:], those that start before
// stop and end by prod, and returns how many recs holds then, the position
// after the last one written and the bytes of their samples (see gather,
// which calls it). It stops before any record it does not take as it is
// (busy, discarded, or reaching past prod), which the caller looks at.
//
// Each record's position depends on the header before it, so the loop is
// as fast as the chain from one header load to the next: it walks offsets
// from the first record's address, which the double mapping of the data
// pages keeps valid for the ring's size (prod-cons is at most that), so the
// chain is the load and three instructions, without the mask.
func (rg *rbRing) walk(recs []transport.Record, i int, cons, stop, prod uintptr) (int, uintptr, uint64) {
	base := unsafe.Add(rg.data, cons&rg.mask)
	source := int32(rg.source)
	// Neither can wrap: a skipped record may take cons past stop.
	limit, avail := ahead(cons, stop), ahead(cons, prod)
	var nbytes uint64
	var off uintptr
	j := i
	for ; j < len(recs) && off < limit; j++ {
		hp := unsafe.Add(base, off)
		hdr := atomic.LoadUint32((*uint32)(hp))
		size := recordSize(uintptr(hdr))
		if hdr > ringbufMaxSample || off+size > avail {
			break
		}
		ln := uintptr(hdr)
		rec := &recs[j]
		rec.Sample = sampleAt(hp, ln)
		rec.CPU, rec.Source = transport.NoCPU, source
		nbytes += uint64(ln)
		off += size
	}
	return j, cons + off, nbytes
}
