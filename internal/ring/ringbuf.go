package ring

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/transport"
)

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
	// handed over (or skipped). The kernel sees it once it is published
	// (position).
	cons uintptr
	position[uintptr]
	prodPos *uintptr // producer page, RO
	data    unsafe.Pointer
	mask    uintptr
	size    int
	source  int
	id      uint32
	consMap []byte
	prodMap []byte
}

// Ringbuf reads one or more BPF ring buffers through one epoll instance.
// Records carry CPU transport.NoCPU and the Source of their RingbufMap.
type Ringbuf struct {
	p        *poller
	rings    []rbRing
	visit    visitSet // the rings a Drain looks at (see visitSet)
	opts     Options
	maxBatch uintptr       // bytes one Drain takes at most before returning
	fence    atomic.Uint32 // its read-modify-write is settle's full fence
	spin     spin
	gate     pollGate
	co       coalescer
	batch    batch // records gathered for a batch handler

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
	r := &Ringbuf{opts: opts, rings: make([]rbRing, 0, len(maps)), gate: newPollGate(), claim: claim}
	defer func() {
		if err != nil {
			_ = r.unmap(claim.Release)
		}
	}()
	// A release of a lent batch that raises its ring's floor wakes a
	// Drain that waits, to publish further.
	kick := func() { r.p.kick() }
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
		consPos := (*uintptr)(unsafe.Pointer(&cons[0]))
		start := atomic.LoadUintptr(consPos)
		r.rings = append(r.rings, rbRing{
			cons:    start,
			prodPos: (*uintptr)(unsafe.Pointer(&prod[0])),
			data:    unsafe.Pointer(&prod[page]),
			mask:    uintptr(m.Size - 1),
			size:    m.Size,
			source:  m.Source,
			id:      m.ID,
			consMap: cons,
			prodMap: prod,
		})
		r.rings[i].position.init(consPos, start, kick) // in place: its Ledger keeps it
		r.maxBatch += uintptr(m.Size)
	}
	r.co = newCoalescer(opts.Coalesce, smallestRing(maps))
	r.visit = newVisitSet(len(maps), opts.Interval)
	r.visit.addAll() // records may wait from before: no wake-up will say so
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
// space; the release publishes the reader's last position first). done, if not
// nil, runs once every ring is unmapped. Errors of an unmapping deferred
// that way are dropped.
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
		n += int(atomic.LoadUintptr(rg.prodPos) - atomic.LoadUintptr(rg.at))
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

// smallestRing returns the size of the smallest of maps.
func smallestRing(maps []RingbufMap) uintptr {
	s := maps[0].Size
	for _, m := range maps[1:] {
		s = min(s, m.Size)
	}
	return uintptr(s)
}
