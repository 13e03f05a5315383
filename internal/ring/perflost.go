package ring

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
)

// The kernel counts a sample it cannot write into a full perf buffer twice:
// in the buffer's pending count, which it reports (and resets) with a
// PERF_RECORD_LOST written just before its next successful write to the
// buffer, and in the event's total, which read(2) of the event returns with
// PERF_FORMAT_LOST (Linux 6.0 and later). A consumer closed with losses
// still pending never sees their record. So at Close, once the entries are
// out of the map (no write can add to either count), the reader adds what
// its buffer still holds (unread samples and the losses of unread lost
// records) and the losses no record reports: the event's total less what
// the lost records reported, read or unread. Without PERF_FORMAT_LOST those
// cannot be known (perfbuf then reports LostKnown false after Close).

// openPerfEvent opens the perf event of attr on cpu, asking for the lost
// count in what read(2) returns where the kernel has it (lostReadable).
func openPerfEvent(attr *unix.PerfEventAttr, cpu int) (fd int, lostReadable bool, err error) {
	attr.Read_format = unix.PERF_FORMAT_LOST
	fd, err = unix.PerfEventOpen(attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 6.0 refuse a read format they do not know.
		attr.Read_format = 0
		fd, err = unix.PerfEventOpen(attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
		return fd, false, err
	}
	return fd, err == nil, err
}

// addLost counts n samples that a lost record of rg reported.
func (rg *perfRing) addLost(c *core.Counters, n uint64) {
	rg.reported += n
	c.AddLost(rg.cpu, n)
}

// closingLoss returns what closing rg loses: the samples still unread and
// every loss no lost record handed over has reported. known is false when
// the kernel could not tell the losses still pending. Call it once the
// entries are out of the map and no Drain runs, before the event is closed.
func (rg *perfRing) closingLoss() (n uint64, known bool) {
	samples, reported := rg.unread()
	n = samples + reported
	if !rg.lostReadable {
		return n, false
	}
	total, err := readLost(rg.fd)
	if err != nil {
		return n, false
	}
	if seen := rg.reported + reported; total > seen {
		n += total - seen
	}
	return n, true
}

// readLost returns the perf event's total of samples lost (the read format
// is PERF_FORMAT_LOST only: the event's value, then the lost count).
func readLost(fd int) (uint64, error) {
	var v [2]uint64
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&v)), unsafe.Sizeof(v))
	n, err := unix.Read(fd, buf)
	if err != nil {
		return 0, fmt.Errorf("read perf event: %w", err)
	}
	if n != len(buf) {
		return 0, fmt.Errorf("read perf event: %d bytes, want %d", n, len(buf))
	}
	return v[1], nil
}

// unread counts the samples between the reader's position and the kernel's
// and the losses the lost records there report, without handing anything
// over.
func (rg *perfRing) unread() (samples, lost uint64) {
	head := atomic.LoadUint64(&rg.meta.Data_head)
	for tail := rg.tail; tail != head; {
		typ, size, err := rg.header(tail, head)
		if err != nil {
			break // corrupt: count what could be read
		}
		switch {
		case typ == perfRecordSample:
			samples++
		case typ == perfRecordLost && size >= perfHeaderSize+16:
			// The count is 8-byte aligned, so it never wraps itself;
			// header checked that it lies before head.
			lost += *(*uint64)(unsafe.Add(rg.data, (tail+perfHeaderSize+8)&rg.mask))
		}
		tail += size
	}
	return samples, lost
}

// LostKnown reports whether the counters hold every loss: always while the
// reader is open; after Close, when the kernel could tell the losses still
// pending for every buffer (PERF_FORMAT_LOST, Linux 6.0).
func (r *Perf) LostKnown() bool {
	if !r.p.closed.Load() {
		return true
	}
	for i := range r.rings {
		if !r.rings[i].lostReadable {
			return false
		}
	}
	return true
}
