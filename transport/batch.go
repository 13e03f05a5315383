package transport

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/prefetch"
)

// Batch is a slice of records received from [Batches]. Call Release once done
// with it: the records, their samples and the Records slice are invalid
// afterwards, as their memory is reused.
//
// An owned batch (the default) holds copies of the samples in memory that
// Release hands back to the stream for the next batches, so that a stream
// whose receiver releases its batches allocates nothing in steady state; a
// batch that is never released is simply garbage collected.
//
// A borrowed batch ([ChannelOptions.Borrow]) points into the kernel buffer
// itself: nothing is copied, and the buffer's space is not reused until the
// batch is released. See ChannelOptions.Borrow for what that implies.
type Batch struct {
	// Records are the batch's records, in arrival order; never empty.
	Records []Record

	released atomic.Bool
	mem      *batchMem
	free     chan *batchMem
}

// batchMem is the reusable memory of one batch.
type batchMem struct {
	recs   []Record
	bytes  []byte
	leases []Lease
}

// Release ends the receiver's use of the batch: an owned batch's memory goes
// back to the stream, a borrowed batch's space back to the kernel buffer
// (once every older batch of that buffer is released too: the buffer is
// freed in order, whatever order batches are released in). It is
// idempotent, safe from any goroutine, and safe after the stream and the
// consumer have ended.
func (b *Batch) Release() {
	if b == nil || !b.released.CompareAndSwap(false, true) {
		return
	}
	m := b.mem
	m.releaseLeases()
	clear(m.leases)
	m.leases = m.leases[:0]
	// The batch's slice, which may be another than m.recs: grown, or
	// swapped with the consumer's (see batcher.take).
	m.recs = b.Records
	// Not cleared: the next batch overwrites the records, and clearing
	// a thousand of them costs the receiver a microsecond per batch.
	m.recs = m.recs[:0]
	m.bytes = m.bytes[:0]
	b.Records, b.mem = nil, nil
	select {
	case b.free <- m:
	default: // the stream has enough spare batches
	}
}

// releaseLeases is the finalizer of a borrowed stream's batch memory: a batch
// that becomes unreachable unreleased makes its memory unreachable too (only
// the batch points to it while it is out), which then gives the batch's
// space back to the kernel buffer. The finalizer is set once, when the
// memory is allocated, not once per batch: the memory is recycled, and
// setting a finalizer costs a lock and an allocation in the runtime.
func (m *batchMem) releaseLeases() {
	for _, l := range m.leases {
		l.Release()
	}
}

// batcher gathers the records of batch handler calls into batches for
// Batches. It runs on the consuming goroutine: its methods are a Receiver's
// hooks (or, for a plain Consumer, called from its batch handler), so it
// needs no lock.
type batcher struct {
	send    func(*Batch) error
	size    int
	chunk   int
	room    int  // the records the next call may carry (Receiver.Limit)
	borrow  bool // keep lent records (ChannelOptions.Borrow) instead of copying them
	free    chan *batchMem
	cur     *Batch
	sendErr error
	sent    bool // a batch was sent since the last idle hook
}

// receiver returns the Receiver that feeds b from a ConsumerTo.
func (b *batcher) receiver() Receiver {
	return Receiver{
		Batch: b.add,
		// The consumer has handed over what was waiting: send the
		// partial batch rather than hold it until the next record.
		Idle:   b.idle,
		Limit:  func() int { return b.room },
		Borrow: b.borrow,
	}
}

// addAndFlush is the batch handler that feeds b from a plain Consumer, which
// has no idle hook: it sends what each call handed over when the call
// returns, so that a partial batch never waits for the next record.
func (b *batcher) addAndFlush(recs []Record) error {
	if err := b.add(recs, nil); err != nil {
		return err
	}
	return b.flush()
}

func (b *batcher) start() *Batch {
	var m *batchMem
	select {
	case m = <-b.free:
	default:
		m = &batchMem{recs: make([]Record, 0, b.size)}
		if b.borrow {
			runtime.SetFinalizer(m, (*batchMem).releaseLeases)
		}
	}
	return &Batch{Records: m.recs, mem: m, free: b.free}
}

// add is the Receiver's Batch. It asks a ConsumerTo for no more records per
// call than the batch being gathered has room for (Receiver.Limit), so that
// a call never straddles two batches: a stream that ends then drops at most
// the batch being gathered, and a lent call is kept by one batch.
func (b *batcher) add(recs []Record, loan Loan) error {
	err := b.take(recs, loan)
	b.room = b.size
	if b.cur != nil {
		b.room = max(b.size-len(b.cur.Records), 1)
	}
	return err
}

func (b *batcher) take(recs []Record, loan Loan) error {
	if loan != nil && b.borrow {
		// Lent: the consumer hands over at most size records per
		// call (Receiver.Limit), which a batch keeps whole.
		if b.cur != nil && len(b.cur.Records)+len(recs) > b.size {
			if err := b.flush(); err != nil {
				return err
			}
		}
		if b.cur == nil {
			b.cur = b.start()
		}
		var lease Lease
		if len(b.cur.Records) == 0 && cap(recs) >= b.size && cap(b.cur.Records) >= b.size {
			// Take the consumer's slice rather than copy the
			// records out of it, and give it this batch's empty
			// one for its next batch.
			lease = loan.Keep(b.cur.Records[:0])
			b.cur.Records = recs
		} else {
			lease = loan.Keep(nil)
			b.cur.Records = append(b.cur.Records, recs...)
		}
		b.cur.mem.leases = append(b.cur.mem.leases, lease)
		if len(b.cur.Records) >= b.size {
			return b.flush()
		}
		return nil
	}
	// Not lent: copied, record by record.
	for len(recs) > 0 {
		if b.cur == nil {
			b.cur = b.start()
		}
		k := b.copyIn(recs)
		recs = recs[k:]
		if len(b.cur.Records) >= b.size || len(recs) > 0 {
			// Full, or its memory is: send it, go on in the next
			// batch.
			if err := b.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyIn copies records of recs into the current batch while it has room
// for them, and returns how many it took (at least one when the batch is
// empty). The loop works on locals: it is the whole cost of an owned batch.
//
// It prefetches the sample copyAhead records ahead of the one it copies
// when the reader has not (prefetch.WholeMax): the native readers walk a
// batch's headers before it is copied, so a large sample's other lines are
// still in memory when the copy reaches them. The distance is measured:
// BENCHMARKS.md, "Choices in the code".
func (b *batcher) copyIn(recs []Record) int {
	m := b.cur.mem
	out, buf := b.cur.Records, m.bytes
	if buf == nil {
		buf = make([]byte, 0, b.chunk)
	}
	i := 0
	for ; i < len(recs) && len(out) < b.size; i++ {
		if i+copyAhead < len(recs) {
			if s := recs[i+copyAhead].Sample; len(s) > prefetch.WholeMax {
				prefetch.Bytes(uintptr(unsafe.Pointer(unsafe.SliceData(s))), len(s))
			}
		}
		r := &recs[i]
		n := len(r.Sample)
		var sample []byte
		switch {
		case n <= cap(buf)-len(buf):
			off := len(buf)
			buf = append(buf, r.Sample...)
			// Capped, so an append by the receiver cannot
			// overwrite the next sample.
			sample = buf[off:len(buf):len(buf)]
		case n > b.chunk/4:
			// Too big to share the batch's memory: memory of its
			// own, which the garbage collector takes back.
			sample = append([]byte(nil), r.Sample...)
		case len(out) > 0:
			m.bytes, b.cur.Records = buf, out
			return i // the batch's memory is full
		default:
			sample = append([]byte(nil), r.Sample...)
		}
		if r.Sample == nil {
			sample = nil
		}
		// Written in place: a Record built and copied in costs more
		// than the copy of a small sample.
		j := len(out)
		if j == cap(out) {
			out = append(out, Record{})
		} else {
			out = out[:j+1]
		}
		o := &out[j]
		o.Sample, o.CPU, o.Source = sample, r.CPU, r.Source
	}
	m.bytes, b.cur.Records = buf, out
	return i
}

// copyAhead is how many records ahead of its copy copyIn prefetches a sample.
const copyAhead = 4

// flush sends the current batch, blocking until the receiver takes it or the
// stream ends; a batch the stream could not send is released.
func (b *batcher) flush() error {
	if b.cur == nil || b.sendErr != nil {
		return b.sendErr
	}
	b.room = b.size
	cur := b.cur
	b.cur = nil
	if b.sendErr = b.send(cur); b.sendErr != nil {
		cur.Release()
	}
	b.sent = b.sent || b.sendErr == nil
	return b.sendErr
}

// idle is the Receiver's idle hook: the consumer has handed over what was
// waiting and is about to wait. It sends the partial batch and lets the
// receiver take what was sent (yieldToReceiver).
func (b *batcher) idle() error {
	err := b.flush()
	if b.sent {
		b.sent = false
		yieldToReceiver()
	}
	return err
}
