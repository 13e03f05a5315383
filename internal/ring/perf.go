package ring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/transport"
)

// PerfOptions configure NewPerf.
type PerfOptions struct {
	Options
	// BufferBytes is each CPU's data size: a power-of-two number of pages.
	BufferBytes int
	// WakeupEvents and WakeupBytes (the watermark) are the perf event's
	// wake-up thresholds; at most one is set (perfbuf.Options checks it; if
	// both were, WakeupEvents wins). Neither: wake on every sample.
	WakeupEvents int
	WakeupBytes  int
	// OnLost, when set, is called on the draining goroutine for every
	// PERF_RECORD_LOST, after the loss is added to Counters.
	OnLost func(cpu int, n uint64)
	// CPUs, when set, are the CPUs whose buffers this reader opens, below
	// the map's size (perfbuf.Options.Shards deals the online CPUs out to
	// several readers); nil: every CPU of the map. Offline CPUs are
	// skipped either way.
	CPUs []int
}

// perfRing is one CPU's mapped buffer.
type perfRing struct {
	// tail is the reader's position; the kernel sees it once published
	// (position, at meta.Data_tail).
	tail uint64
	position[uint64]
	meta *unix.PerfEventMmapPage
	data unsafe.Pointer
	size uint64
	mask uint64
	cpu  int
	fd   int
	mmap []byte
	// reported is the losses the lost records handed over reported, and
	// lostReadable whether the event tells its total (see perflost.go).
	reported     uint64
	lostReadable bool
}

// Perf reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one perf event and buffer per
// online CPU, installed in (a clone of) the map. Records carry the CPU whose
// buffer held them and Source 0.
type Perf struct {
	p        *poller
	rings    []perfRing
	visit    visitSet // the buffers a Drain looks at (see visitSet)
	clone    *PerfArray
	opts     PerfOptions
	scratch  []byte // a record that wraps around its buffer's end is copied here
	maxBatch uint64
	batch    batch // records gathered for a batch handler
}

// Perf record types and sizes (include/uapi/linux/perf_event.h).
const (
	perfRecordLost   = unix.PERF_RECORD_LOST
	perfRecordSample = unix.PERF_RECORD_SAMPLE
	perfHeaderSize   = 8
)

// NewPerf opens one perf event per CPU of m (skipping offline CPUs, as
// cilium/ebpf does), maps its buffer and installs it in a clone of m, so
// that closing the caller's map does not remove the buffers. Close removes
// them.
func NewPerf(m *ebpf.Map, opts PerfOptions) (_ *Perf, err error) {
	opts.Options = opts.Options.withDefaults()
	page := os.Getpagesize()
	// perfbuf.Options checked every option; the size is checked again
	// because the walk's mask relies on it (a wrong one reads outside the
	// mapping), not as an option check.
	if opts.BufferBytes < page || opts.BufferBytes%page != 0 || (opts.BufferBytes/page)&(opts.BufferBytes/page-1) != 0 {
		return nil, fmt.Errorf("ring: perf buffer size %d is not a power-of-two number of pages: %w", opts.BufferBytes, transport.ErrInvalidOptions)
	}
	cpus := opts.CPUs
	if cpus == nil {
		cpus = make([]int, m.MaxEntries())
		for i := range cpus {
			cpus[i] = i
		}
	}
	r := &Perf{opts: opts, rings: make([]perfRing, 0, len(cpus)), scratch: make([]byte, 1<<16)}
	defer func() {
		if err != nil {
			_ = r.release()
			if r.p != nil {
				r.p.closeFDs()
			}
		}
	}()
	for _, cpu := range cpus {
		rg, err := openPerfRing(cpu, opts)
		if errors.Is(err, unix.ENODEV) {
			continue // offline CPU
		}
		if err != nil {
			return nil, fmt.Errorf("ring: perf buffer for CPU %d: %w", cpu, err)
		}
		r.rings = append(r.rings, rg)
		last := &r.rings[len(r.rings)-1]
		// In place: its Ledger keeps it. perf buffers wake their reader
		// by event count or watermark, not by the published tail, so a
		// release needs no wake-up.
		last.position.init(&last.meta.Data_tail, last.tail, nil)
		r.maxBatch += rg.size
	}
	r.visit = newVisitSet(len(r.rings), opts.Interval)
	r.visit.addAll() // records may wait from before: no wake-up will say so
	if r.p, err = newPoller(len(r.rings), opts.Interval); err != nil {
		return nil, err
	}
	for i := range r.rings {
		if err := r.p.add(r.rings[i].fd, i); err != nil {
			return nil, err
		}
	}
	// Install through our own handle, whose Close takes exactly our
	// entries out of the map.
	if r.clone, err = OpenPerfArray(m, r.CPUs()); err != nil {
		return nil, err
	}
	for i := range r.rings {
		if err := r.clone.Install(r.rings[i].cpu, r.rings[i].fd); err != nil {
			return nil, fmt.Errorf("ring: install perf buffer of CPU %d: %w", r.rings[i].cpu, err)
		}
	}
	return r, nil
}

// openPerfRing opens and maps cpu's perf event; its position is set up in
// place by the caller.
func openPerfRing(cpu int, opts PerfOptions) (perfRing, error) {
	wakeup, bits := 1, uint64(unix.PerfBitWatermark)
	switch {
	case opts.WakeupEvents > 0:
		wakeup, bits = opts.WakeupEvents, 0
	case opts.WakeupBytes > 0:
		wakeup = opts.WakeupBytes
	}
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
		Bits:        bits,
		Sample_type: unix.PERF_SAMPLE_RAW,
		Wakeup:      uint32(wakeup),
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, lostReadable, err := openPerfEvent(&attr, cpu)
	if err != nil {
		return perfRing{}, fmt.Errorf("perf_event_open: %w", err)
	}
	page := os.Getpagesize()
	mem, err := mmap(fd, 0, page+opts.BufferBytes, unix.PROT_READ|unix.PROT_WRITE)
	if err != nil {
		_ = unix.Close(fd)
		return perfRing{}, err
	}
	meta := (*unix.PerfEventMmapPage)(unsafe.Pointer(&mem[0]))
	off, size := meta.Data_offset, meta.Data_size
	if off == 0 { // kernels before 4.1 leave these zero
		off, size = uint64(page), uint64(opts.BufferBytes)
	}
	tail := atomic.LoadUint64(&meta.Data_tail)
	return perfRing{
		tail: tail,
		meta: meta,
		data: unsafe.Pointer(&mem[off]),
		size: size,
		mask: size - 1,
		cpu:  cpu,
		fd:   fd,
		mmap: mem,

		lostReadable: lostReadable,
	}, nil
}

// release frees everything; run once, when no Drain runs. Samples still
// unread go away with the buffers: they are counted as lost, so that
// delivered + lost stays what the producers emitted.
func (r *Perf) release() error {
	var errs []error
	if r.clone != nil {
		// Close has taken the buffers out of the map (this is for
		// NewPerf failing): no write lands after the count below.
		errs = append(errs, r.clone.Close())
	}
	for i := range r.rings {
		rg := &r.rings[i]
		if rg.mmap != nil && rg.fd >= 0 && r.opts.Counters != nil {
			lost, _ := rg.closingLoss()
			r.opts.Counters.AddLost(rg.cpu, lost)
		}
		if rg.mmap != nil {
			// While a receiver keeps lent batches, their records
			// stay mapped until the last is released.
			// (An error of a deferred munmap is dropped.)
			mem := rg.mmap
			var err error
			if rg.lent.Close(func() { err = unix.Munmap(mem) }) {
				errs = append(errs, err)
			}
			rg.mmap = nil
		}
		if rg.fd >= 0 {
			errs = append(errs, unix.Close(rg.fd))
			rg.fd = -1
		}
	}
	return errors.Join(errs...)
}

// BufferBytes is the data size of all per-CPU buffers.
func (r *Perf) BufferBytes() int { return int(r.maxBatch) }

// CPUs returns the CPUs that have a buffer.
func (r *Perf) CPUs() []int {
	cpus := make([]int, len(r.rings))
	for i := range r.rings {
		cpus[i] = r.rings[i].cpu
	}
	return cpus
}

// Interrupt makes a blocked or the next Drain return core.ErrWake.
func (r *Perf) Interrupt() { r.p.wake() }

// Close removes the buffers from the map before it returns (BPF writes then
// fail; see PerfArray.Close) and releases them, at once or, when a Drain is
// running, as soon as it returns.
func (r *Perf) Close() error { return errors.Join(r.clone.Close(), r.p.close(r.release)) }
