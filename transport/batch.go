package transport

import (
	"runtime"
	"sync/atomic"

	"github.com/bpfstream/bpfstream/internal/lend"
)

// Batch is a slice of records received from Batches. Call Release once done
// with it: the records, their samples and the Records slice are invalid
// afterwards, as their memory is reused.
//
// An owned batch (the default) holds copies of the samples in memory that
// Release hands back to the stream for the next batches, so that a stream
// whose receiver releases its batches allocates nothing in steady state; a
// batch that is never released is simply garbage collected.
//
// A borrowed batch (ChannelOptions.Borrow) points into the kernel buffer
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
	leases []lend.Lease
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
	for _, l := range m.leases {
		l.Release()
	}
	clear(m.leases)
	m.leases = m.leases[:0]
	if cap(b.Records) >= cap(m.recs) {
		m.recs = b.Records
	}
	clear(m.recs) // drop references to memory the batch no longer owns
	m.recs = m.recs[:0]
	m.bytes = m.bytes[:0]
	b.Records, b.mem = nil, nil
	select {
	case b.free <- m:
	default: // the stream has enough spare batches
	}
}

// release is the finalizer of a borrowed batch: one that becomes unreachable
// unreleased gives its space back to the kernel buffer.
func (b *Batch) release() { b.Release() }

// batcher gathers the records of batch handler calls into batches for
// Batches. It runs on the consuming goroutine.
type batcher struct {
	send    func(*Batch) error
	size    int
	chunk   int
	limit   *lend.Slot // its Max is kept at the room left in the batch
	slot    *lend.Slot // nil: copy every record
	free    chan *batchMem
	cur     *Batch
	sendErr error
}

func (b *batcher) start() *Batch {
	var m *batchMem
	select {
	case m = <-b.free:
	default:
		m = &batchMem{recs: make([]Record, 0, b.size)}
	}
	return &Batch{Records: m.recs, mem: m, free: b.free}
}

// add is the stream's BatchHandler. It asks the consumer for no more records
// per call than the batch being gathered has room for, so that a call never
// straddles two batches: a stream that ends then drops at most the batch
// being gathered, and a lent call is kept by one batch.
func (b *batcher) add(recs []Record) error {
	err := b.take(recs)
	b.limit.Max = b.size
	if b.cur != nil {
		b.limit.Max = max(b.size-len(b.cur.Records), 1)
	}
	return err
}

func (b *batcher) take(recs []Record) error {
	if b.slot != nil {
		// Borrowed: the consumer hands over at most size records
		// per call (Slot.Max), which a batch keeps whole.
		if b.cur != nil && len(b.cur.Records)+len(recs) > b.size {
			if err := b.flush(); err != nil {
				return err
			}
		}
		if lease, ok := b.slot.Keep(); ok {
			if b.cur == nil {
				b.cur = b.start()
			}
			b.cur.Records = append(b.cur.Records, recs...)
			b.cur.mem.leases = append(b.cur.mem.leases, lease)
			if len(b.cur.mem.leases) == 1 {
				runtime.SetFinalizer(b.cur, (*Batch).release)
			}
			if len(b.cur.Records) >= b.size {
				return b.flush()
			}
			return nil
		}
	}
	// Not lent: copied, record by record.
	for _, r := range recs {
		if b.cur == nil {
			b.cur = b.start()
		} else if !b.fits(len(r.Sample)) {
			// The batch's memory is full: send it, go on in the
			// next batch's.
			if err := b.flush(); err != nil {
				return err
			}
			b.cur = b.start()
		}
		r.Sample = b.copy(r.Sample)
		b.cur.Records = append(b.cur.Records, r)
		if len(b.cur.Records) >= b.size {
			if err := b.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// fits reports whether a sample of n bytes fits in the current batch's
// memory, or will not share it anyway.
func (b *batcher) fits(n int) bool {
	m := b.cur.mem
	return n <= cap(m.bytes)-len(m.bytes) || m.bytes == nil || n > b.chunk/4
}

// copy returns a copy of s in the current batch's memory.
func (b *batcher) copy(s []byte) []byte {
	m := b.cur.mem
	if len(s) > cap(m.bytes)-len(m.bytes) {
		if m.bytes != nil || len(s) > b.chunk/4 {
			// Too big to share a chunk: memory of its own, which
			// the garbage collector takes back.
			return append([]byte(nil), s...)
		}
		m.bytes = make([]byte, 0, b.chunk)
	}
	n := len(m.bytes)
	m.bytes = append(m.bytes, s...)
	// Capped, so an append by the receiver cannot overwrite the next
	// sample.
	return m.bytes[n:len(m.bytes):len(m.bytes)]
}

// flush sends the current batch, blocking until the receiver takes it or the
// stream ends; a batch the stream could not send is released.
func (b *batcher) flush() error {
	if b.cur == nil || b.sendErr != nil {
		return b.sendErr
	}
	b.limit.Max = b.size
	cur := b.cur
	b.cur = nil
	if b.sendErr = b.send(cur); b.sendErr != nil {
		cur.Release()
	}
	return b.sendErr
}
