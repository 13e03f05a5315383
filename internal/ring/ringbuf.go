package ring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/lend"
	"github.com/bpfstream/bpfstream/transport"
)

// Bits of struct bpf_ringbuf_hdr's len (include/uapi/linux/bpf.h).
const (
	ringbufBusyBit    = 1 << 31
	ringbufDiscardBit = 1 << 30
	ringbufHdrSize    = 8
	// ringbufMaxSample bounds a sample's length: the bits of len below
	// the busy and discard bits.
	ringbufMaxSample = ringbufDiscardBit - 1
)

// ErrCorrupt means a buffer holds a record that cannot be: a length beyond
// the data the producer published or the buffer's size, a producer position
// further ahead than the buffer holds, or a misaligned position. The readers
// check these before they read what the positions point at, so a corrupt or
// hostile buffer gives this error, never a read outside the mapping.
var ErrCorrupt = transport.ErrCorrupt

// RingbufMap names one BPF_MAP_TYPE_RINGBUF to read: its fd (which must stay
// open while the reader maps it; the mapping itself keeps the ring alive
// afterwards), its size (max_entries), the Source its records carry, and its
// kernel map ID (0 if unknown) and name, by which the reader claims the ring
// (see claim.go).
//
// NewRingbuf does not deduplicate: each ring must appear once.
type RingbufMap struct {
	FD     int
	Size   int
	Source int
	ID     uint32
	Name   string
}

// rbRing is one mapped ring buffer.
type rbRing struct {
	// cons is the reader's position: every record before it has been
	// handed over (or skipped). The kernel sees it once it is published to
	// *consPos.
	cons    uintptr
	pub     uintptr  // the position last stored to *consPos
	consPos *uintptr // consumer page, RW
	prodPos *uintptr // producer page, RO
	data    unsafe.Pointer
	mask    uintptr
	size    int
	source  int
	id      uint32
	consMap []byte
	prodMap []byte
	// lent holds the published position back at the oldest batch a
	// receiver keeps (see package lend).
	lent *lend.Ledger
}

// Ringbuf reads one or more BPF ring buffers through one epoll instance.
// Records carry CPU transport.NoCPU and the Source of their RingbufMap.
type Ringbuf struct {
	p        *poller
	rings    []rbRing
	opts     Options
	maxBatch uintptr       // bytes one Drain takes at most before returning
	fence    atomic.Uint32 // its read-modify-write is publishAll's full fence
	next     int           // ring the next round starts with
	spin     spin
	co       coalescer
	batch    batch       // records gathered for a batch handler
	lendWait atomic.Bool // Drain waits for the last lent batch's release

	closeOnce sync.Once
	closeErr  error
	claim     *Claim // the rings, until they are unmapped
}

// NewRingbuf maps the ring buffers and registers them with a new epoll
// instance.
func NewRingbuf(maps []RingbufMap, opts Options) (_ *Ringbuf, err error) {
	if len(maps) == 0 {
		return nil, fmt.Errorf("ring: no ring buffer to read: %w", transport.ErrInvalidOptions)
	}
	opts = opts.withDefaults()
	page := os.Getpagesize()
	// Before the consumer positions are read below: a closed reader of one
	// of these rings may still be handing records over.
	claim, err := claimRings(maps)
	if err != nil {
		return nil, err
	}
	r := &Ringbuf{opts: opts, rings: make([]rbRing, 0, len(maps)), claim: claim}
	defer func() {
		if err != nil {
			_ = r.unmap(claim.Release)
		}
	}()
	for i, m := range maps {
		if m.Size <= 0 || m.Size&(m.Size-1) != 0 || m.Size%page != 0 {
			return nil, fmt.Errorf("ring: ring buffer %d has size %d, not a power-of-two multiple of the page size: %w", i, m.Size, transport.ErrInvalidOptions)
		}
		cons, err := mmap(m.FD, 0, page, unix.PROT_READ|unix.PROT_WRITE)
		if err != nil {
			return nil, fmt.Errorf("ring: map consumer page of ring %d: %w", i, err)
		}
		// The producer page, then the data pages mapped twice in a row, so
		// that a record wrapping around the end is contiguous.
		prod, err := mmap(m.FD, int64(page), page+2*m.Size, unix.PROT_READ)
		if err != nil {
			_ = unix.Munmap(cons)
			return nil, fmt.Errorf("ring: map data pages of ring %d: %w", i, err)
		}
		rg := rbRing{
			consPos: (*uintptr)(unsafe.Pointer(&cons[0])),
			prodPos: (*uintptr)(unsafe.Pointer(&prod[0])),
			data:    unsafe.Pointer(&prod[page]),
			mask:    uintptr(m.Size - 1),
			size:    m.Size,
			source:  m.Source,
			id:      m.ID,
			consMap: cons,
			prodMap: prod,
		}
		rg.cons = atomic.LoadUintptr(rg.consPos)
		rg.pub = rg.cons
		consPos := rg.consPos
		rg.lent = lend.NewLedger(func(pos uint64) { atomic.StoreUintptr(consPos, uintptr(pos)) }, r.lentReleased)
		r.rings = append(r.rings, rg)
		r.maxBatch += uintptr(m.Size)
	}
	r.co = newCoalescer(opts.Coalesce, smallestRing(maps))
	r.p, err = newPoller(len(maps), opts.Interval)
	if err != nil {
		return nil, err
	}
	for i, m := range maps {
		if err := r.p.add(m.FD, i); err != nil {
			r.p.closeFDs()
			return nil, err
		}
	}
	return r, nil
}

// unmap publishes each ring's position and unmaps it, at once or, while a
// receiver keeps lent batches of the ring, when the last of them is released
// (their records must stay readable, and the ring must not reuse their
// space). done, if not nil, runs once every ring is unmapped. Errors of an
// unmapping deferred that way are dropped.
func (r *Ringbuf) unmap(done func()) error {
	var mu sync.Mutex
	var errs []error
	var remaining atomic.Int32 // rings not yet unmapped, plus one for this call
	remaining.Store(int32(len(r.rings)) + 1)
	finish := func() {
		if remaining.Add(-1) == 0 && done != nil {
			done()
		}
	}
	for i := range r.rings {
		rg := &r.rings[i]
		rg.store(rg.cons) // the record a batch held back
		rg.lent.Close(func() {
			err := errors.Join(unix.Munmap(rg.prodMap), unix.Munmap(rg.consMap))
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			finish()
		})
	}
	finish()
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// Size returns the sum of the rings' sizes.
func (r *Ringbuf) Size() int {
	n := 0
	for i := range r.rings {
		n += r.rings[i].size
	}
	return n
}

// Pending returns the bytes waiting in the rings (records not yet published
// as consumed, headers included): while a Drain runs, up to 4 KiB of records
// already handed over may still count. It must not be called after Close.
func (r *Ringbuf) Pending() int {
	n := 0
	for i := range r.rings {
		rg := &r.rings[i]
		n += int(atomic.LoadUintptr(rg.prodPos) - atomic.LoadUintptr(rg.consPos))
	}
	return n
}

// Interrupt makes a blocked or the next Drain return core.ErrWake.
func (r *Ringbuf) Interrupt() { r.p.wake() }

// Close releases the mappings and descriptors, at once or, when a Drain is
// running, as soon as it returns (it is woken and returns transport.ErrClosed
// after the record its handler holds, if any). Close does not wait for that
// Drain, which may be running the handler that called Close; instead, until
// the Drain has published its position and released the rings, NewRingbuf
// waits before it reads the consumer position of any of these rings (see
// claim.go). So a consumer closed and re-opened on the same ring hands
// every record over exactly once.
func (r *Ringbuf) Close() error {
	r.closeOnce.Do(func() {
		r.claim.Closing()
		// The claim ends once every ring is unmapped: after the last
		// lent batch is released, if a receiver still keeps some.
		r.closeErr = r.p.close(func() error { return r.unmap(r.claim.Release) })
	})
	return r.closeErr
}

// publish stores every ring's position for the kernel.
func (r *Ringbuf) publish() {
	for i := range r.rings {
		r.rings[i].store(r.rings[i].cons)
	}
}

// pollRounds is how many empty rounds Drain makes before it sleeps in epoll,
// pollGap apart. The gap is what keeps a fast reader from slowing the
// producer down: polling right behind it, the reader reads each record on
// the cache line the producer is still writing and the producer position it
// updates on every reserve, and every look takes those lines away from the
// producer. Measured end to end (24 and 128 B, adaptive and bytes policies),
// polling 64 times back to back left the producer at 0.60-0.91x of its rate
// with a hand-written cilium/ebpf reader; 16 polls 2 µs apart, at
// 0.86-2.18x. The price is up to ~35 µs of polling each time the producer
// stops, and up to 2 µs of extra delay for a record that arrives meanwhile.
const pollRounds = 16

const pollGap = 2 * time.Microsecond

// lag waits d without a system call and without touching the ring.
func lag(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// publishAll publishes every ring's full position and reports whether a
// ring has records waiting after that.
//
// It is the reader's half of the wake-up handshake: the kernel commits a
// record and then reads the consumer position to decide whether to wake the
// reader; the reader publishes its position and then reads the producer
// position to decide whether to sleep. Each side needs a full fence between
// its store and its load, or both can read the other's old value and the
// record waits for the next wake-up. The positions are published with
// release stores (see storeRelease), so the fence is added here.
func (r *Ringbuf) publishAll() bool {
	for i := range r.rings {
		rg := &r.rings[i]
		rg.store(rg.cons)
	}
	r.fence.Add(1)
	waiting := false
	for i := range r.rings {
		rg := &r.rings[i]
		if atomic.LoadUintptr(rg.prodPos) != rg.cons {
			waiting = true
		}
	}
	return waiting
}

// store publishes cons unless it is already published: the producer reads
// the consumer position on every reserve, so each store costs it a cache
// miss; storing an unchanged value while the reader waits for a busy record
// slowed the producer down 2.5x.
func (rg *rbRing) store(cons uintptr) {
	if cons != rg.pub {
		rg.pub = cons
		if rg.lent.Out() {
			rg.lent.Publish(uint64(cons))
			return
		}
		storeReleasePtr(rg.consPos, cons)
	}
}

// lending reports whether a receiver keeps batches of any ring.
func (r *Ringbuf) lending() bool {
	for i := range r.rings {
		if r.rings[i].lent.Out() {
			return true
		}
	}
	return false
}

// lentReleased runs when the last lent batch of a ring is released: a Drain
// waiting for that (see Drain) drains again.
func (r *Ringbuf) lentReleased() {
	if r.lendWait.Load() {
		r.p.wake()
	}
}

// lendPoll is how often Drain looks for records while batches are lent.
const lendPoll = time.Millisecond

// Drain implements core.Source: it hands over what is waiting in all rings,
// round robin by slices, waiting in epoll first only when every ring is
// empty. While coalescing (Options.Coalesce), it waits a tick first instead,
// also when records are waiting: that is the delay the user accepted.
func (r *Ringbuf) Drain(emit *core.Emitter) error {
	if !r.p.enter() {
		return transport.ErrClosed
	}
	var delivered int
	defer func() {
		// Publish everything, also the record a caught-up slice held back
		// and on a panic in emit (the record being handed over is not
		// published, so the next Drain hands it over again); only a
		// coalescing batch that ended caught up keeps its records held
		// back, until its next tick.
		if !r.co.sleepNext {
			r.publish()
		}
		r.p.leave()
		if delivered > 0 {
			r.opts.Counters.Wakeups.Add(1)
		}
	}()
	if r.co.sleepNext {
		r.co.sleepNext = false
		// Let goroutines the handler readied (a channel's receiver) run
		// first: this thread is about to block in a syscall holding its
		// P, and the runtime may take a whole tick to hand it over.
		deadline := time.Now().Add(r.co.tick)
		runtime.Gosched()
		if err := r.p.pause(time.Until(deadline)); err != nil {
			return err
		}
	}
	var taken uintptr
	var stalled time.Duration // waited in this Drain for busy records
	timedOut := false
	polls := 0
	observed, observedBytes := 0, uintptr(0) // what the coalescer has been told about
	for {
		n, moved, busy, err := r.round(emit)
		delivered += n
		taken += moved
		if err != nil {
			return err
		}
		closed := r.p.closed.Load()
		if moved > 0 {
			r.spin.reset()
			polls = 0
			if taken < r.maxBatch && !closed {
				continue
			}
			return nil
		}
		if delivered > 0 {
			if polls == 0 && !closed {
				n, bytes := delivered-observed, taken-observedBytes
				observed, observedBytes = delivered, taken
				if r.co.caughtUp(n, bytes) {
					return nil
				}
			}
			if !busy && !closed && polls < pollRounds {
				// Caught up, with the last record held back from the
				// published position (see slice): look again a few
				// times before ending the batch. A producer that is
				// still running commits within microseconds, and its
				// commits cost it no wake-up meanwhile.
				polls++
				lag(pollGap)
				continue
			}
			return nil
		}
		if closed {
			return transport.ErrClosed
		}
		if timedOut {
			return core.ErrWake
		}
		if r.co.idle() {
			// Coalescing and nothing arrived yet: another tick, still
			// holding back, rather than the epoll wait below.
			if err := r.p.pause(r.co.tick); err != nil {
				return err
			}
			continue
		}
		// About to sleep: make sure everything is published, so that the
		// next commit wakes us, and look once more.
		waiting := r.publishAll()
		if busy {
			// A record is reserved but not committed (a sleepable
			// program can hold it across a page fault). epoll would
			// not sleep: the ring counts it as data. Back off instead,
			// yielding first, then sleeping longer and longer, up to
			// spinMaxWait, awake to Interrupt and Close; ErrWake once
			// the drain interval has passed, as an epoll timeout would.
			d := r.spin.stalled()
			if d == 0 {
				continue
			}
			if err := r.p.pause(d); err != nil {
				return err
			}
			if stalled += d; r.p.timeout >= 0 && stalled >= time.Duration(r.p.timeout)*time.Millisecond {
				timedOut = true
			}
			continue
		}
		if waiting {
			continue
		}
		if r.lending() {
			// Lent batches hold the published position back, so
			// epoll would report the ring ready at once and the
			// kernel's adaptive wake-ups, which compare a commit
			// with the published position, would not come. Poll
			// until the last lent batch is released (which wakes
			// us) instead.
			r.lendWait.Store(true)
			var err error
			if r.lending() {
				err = r.p.pause(lendPoll)
			}
			r.lendWait.Store(false)
			if err != nil {
				return err
			}
			timedOut = r.p.timeout >= 0
			continue
		}
		ready, err := r.p.sleep(r.p.timeout)
		if err != nil {
			return err
		}
		// A timeout ends the Drain after one more round, so the loop can
		// look at its context; data found by that round is still handed
		// over.
		timedOut = ready == 0
	}
}

// smallestRing returns the size of the smallest of maps.
func smallestRing(maps []RingbufMap) uintptr {
	s := maps[0].Size
	for _, m := range maps[1:] {
		s = min(s, m.Size)
	}
	return uintptr(s)
}

// round takes one slice from every ring, starting after the ring the last
// round started with. It reports the records handed over, the bytes of ring
// consumed, and whether a ring stopped at a record not yet committed.
func (r *Ringbuf) round(emit *core.Emitter) (n int, moved uintptr, busy bool, err error) {
	k := len(r.rings)
	start := rotate(&r.next, k)
	for j := 0; j < k; j++ {
		i := start + j
		if i >= k {
			i -= k
		}
		rn, rmoved, rbusy, err := r.slice(&r.rings[i], emit)
		n += rn
		moved += rmoved
		busy = busy || rbusy
		if err != nil {
			return n, moved, busy, err
		}
	}
	return n, moved, busy, nil
}

// check reports ErrCorrupt unless the records between the reader's position
// cons and the producer's prod lie in the ring: both 8-byte aligned (the
// kernel rounds every record up to 8 bytes) and prod at most the ring's size
// ahead (the kernel never reserves past the published consumer position,
// which is at most cons). The consumer page is writable by every process
// that maps the ring, so cons is checked too.
func (rg *rbRing) check(cons, prod uintptr) error {
	if cons&7 != 0 || prod&7 != 0 || prod-cons > uintptr(rg.size) {
		return fmt.Errorf("ring: ring buffer %d: consumer position %d, producer position %d in a ring of %d bytes: %w", rg.source, cons, prod, rg.size, ErrCorrupt)
	}
	return nil
}

// more reports whether records follow cons, the reader's position, and the
// producer position: prod, or, when the reader has reached it, the one it
// has moved to since (checked: ErrCorrupt).
func (rg *rbRing) more(cons, prod uintptr) (uintptr, bool, error) {
	if cons != prod {
		return prod, true, nil
	}
	if prod = atomic.LoadUintptr(rg.prodPos); prod == cons {
		return prod, false, nil
	}
	if err := rg.check(cons, prod); err != nil {
		return prod, false, err
	}
	return prod, true, nil
}

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

// header reads the header of the record at cons: its address, the header
// word (busy and discard bits included), the sample's length and the position
// after the record. The runs check the busy bit before they use the rest, and
// that the record ends by the producer position. The atomic load orders the
// header before the reads of the sample: the kernel clears the busy bit with
// an xchg after writing the record. ln < 2^30, so next cannot wrap around;
// prod-cons is at most the ring's size, so neither can the sample.
func (rg *rbRing) header(cons uintptr) (hp unsafe.Pointer, hdr uint32, ln, next uintptr) {
	hp = unsafe.Add(rg.data, cons&rg.mask)
	hdr = atomic.LoadUint32((*uint32)(hp))
	ln = uintptr(hdr &^ (ringbufBusyBit | ringbufDiscardBit))
	return hp, hdr, ln, cons + recordSize(ln)
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
			if err = b.flush(emit, rg.lent, uint64(cons), uint64(rg.pub)); err != nil || r.p.closed.Load() {
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
		if ferr := b.flush(emit, rg.lent, uint64(cons), uint64(rg.pub)); ferr != nil && err == nil {
			err = ferr
		}
	}
	return n, cons, last, prod, busy, err
}

// sampleAt returns the sample of ln bytes of the record whose header is at
// hp. The data pages are mapped twice in a row, so a sample that wraps
// around the ring's end lies right after its header. Slicing an array
// pointer, rather than unsafe.Slice, leaves nothing to check at run time:
// ln, masked, is known to be short.
func sampleAt(hp unsafe.Pointer, ln uintptr) []byte {
	ln &= ringbufMaxSample
	return (*[ringbufMaxSample]byte)(unsafe.Add(hp, ringbufHdrSize))[:ln:ln]
}

// recordSize is the bytes of ring a record of a sample of ln bytes takes:
// its header and the sample, rounded up to 8 bytes.
func recordSize(ln uintptr) uintptr { return (ln + ringbufHdrSize + 7) &^ 7 }

// headerOf returns the address and size of the record whose sample a run
// took (see gather).
func (rg *rbRing) headerOf(sample []byte) (unsafe.Pointer, uintptr) {
	return unsafe.Add(unsafe.Pointer(unsafe.SliceData(sample)), -ringbufHdrSize), recordSize(uintptr(len(sample)))
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
	limit, avail := stop-cons, prod-cons
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

// recordBeyondProducer is slice's error for a record longer than what the
// producer published. It is a function of its own, not inlined, so that the
// formatting stays out of the reader's hot loop.
//
//go:noinline
func recordBeyondProducer(source int, ln, cons, prod uintptr) error {
	return fmt.Errorf("ring: ring buffer %d: record of %d bytes at %d beyond the producer position %d: %w", source, ln, cons, prod, ErrCorrupt)
}
