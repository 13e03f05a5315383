package ring

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/bpfstream/bpfstream/transport"
)

// The kernel's ring buffer record header (struct bpf_ringbuf_hdr) and the
// checks every walk makes before it trusts a header or a position: the
// consumer page is writable by every process that maps the ring, and a
// corrupt or hostile buffer must give ErrCorrupt, never a read outside the
// mapping.

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

// recordBeyondProducer is slice's error for a record longer than what the
// producer published. It is a function of its own, not inlined, so that the
// formatting stays out of the reader's hot loop.
//
//go:noinline
func recordBeyondProducer(source int, ln, cons, prod uintptr) error {
	return fmt.Errorf("ring: ring buffer %d: record of %d bytes at %d beyond the producer position %d: %w", source, ln, cons, prod, ErrCorrupt)
}
