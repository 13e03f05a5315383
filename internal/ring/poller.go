// Package ring holds bpfstream's native readers: zero-copy readers over the
// mmap of BPF ring buffers (Ringbuf, one or several rings behind one epoll)
// and perf event buffers (Perf, one buffer per CPU), written with
// golang.org/x/sys/unix only (no cgo). They implement core.Source.
//
// They differ from cilium/ebpf's readers, which they are tested against, in
// three ways that matter for speed: a record is handed to the consumer in
// place (its bytes point into the mmap and are borrowed until emit returns;
// only a perf record that wraps around the end of its buffer is copied, into
// a scratch buffer), the consumer position is published once per 4 KiB of
// records rather than once per record, and there is no lock or syscall per
// record.
//
// # Publishing the consumer position late
//
// The kernel reads the consumer position to know how much space is free, and
// (ringbuf) to answer BPF_RB_AVAIL_DATA queries and decide adaptive wake-ups.
// Publishing it later than the records were read therefore delays freeing
// space (a producer may find the buffer fuller than it is) and makes
// BPF_RB_AVAIL_DATA overstate what waits; it can never let the producer
// overwrite a record that has not been handed over, because the position
// only ever advances past records whose emit call has returned. The readers
// publish whenever they have consumed PublishBytes (4 KiB) since the last
// publication, at the end of every slice (at most SliceRecords records or
// SliceBytes bytes of one buffer), when emit returns an error, when Drain
// returns (also by a panic in emit) and always before waiting in epoll, so a
// slow handler holds back at most 4 KiB of space. One exception: when a
// ringbuf slice ends because the reader has caught up with the producer, the
// reader publishes all but the last record and polls a few more times before
// it ends the batch (publishing everything as Drain returns). With the kernel's adaptive
// wake-ups a commit wakes the reader when it starts at the published
// position, so a reader that publishes "caught up" while it is still awake
// makes the producer pay a wake-up for nothing; measured, this doubled the
// producer's wake-ups and cost it a third of its rate. (An earlier version
// published once per slice only: a producer forcing a wake-up once 16 KiB
// waited then saw 16 KiB waiting almost always, forced a wake-up per record
// and ran at a third of its speed.) For ring buffers with the kernel's adaptive
// wake-ups, publishing before waiting is also what makes the next commit wake
// the reader: the kernel wakes the reader when the committed record starts at
// the published consumer position. A coalescing reader (Options.Coalesce)
// carries the held-back record across batches while the rate is high and
// sleeps on a timer instead (see coalesce.go).
//
// # Close racing with Drain
//
// Records are borrowed from the mmap, so the mappings must outlive every
// Drain. Close marks the reader closed and, when no Drain is running,
// releases everything at once; when a Drain is running (blocked in epoll or
// inside emit — even a handler that calls Close itself), Close wakes it
// through an eventfd and the Drain releases the mappings and descriptors as
// it leaves. So Close never waits for a handler and never deadlocks, and
// nothing is unmapped under a running Drain. Such a Drain still publishes
// its ring buffer consumer positions as it leaves; a new Ringbuf on one of
// those rings waits for that before it starts (see claim.go), so a
// consumer closed and re-opened on a ring never hands a record over twice.
package ring

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// Defaults for Options.
const (
	// DefaultSliceRecords is the most records handed over from one buffer
	// before the reader publishes its position and turns to the next buffer.
	DefaultSliceRecords = 1024
	// DefaultSliceBytes is the same bound in bytes of buffer consumed.
	DefaultSliceBytes = 256 << 10
	// DefaultPublishBytes is how far the reader's position may run ahead
	// of the position the kernel sees, within a slice.
	DefaultPublishBytes = 4 << 10
)

// Options tune a reader. The zero value is valid.
type Options struct {
	// Interval, when positive, bounds each wait in epoll: the reader then
	// drains at least this often, also without a wake-up from the kernel.
	Interval time.Duration
	// SliceRecords and SliceBytes bound a slice: what the reader takes from
	// one buffer before it publishes the consumer position and moves on to
	// the next buffer (round robin, so a busy buffer cannot starve a quiet
	// one). Zero means DefaultSliceRecords and DefaultSliceBytes.
	SliceRecords int
	SliceBytes   int
	// PublishBytes bounds how far the published consumer position lags
	// behind the records already handed over, within a slice. Zero means
	// DefaultPublishBytes. It matters beyond free space: a ringbuf
	// producer's wake-up policy may read BPF_RB_AVAIL_DATA, which is
	// computed from the published position, so a stale position makes
	// such a producer force a wake-up with every record.
	PublishBytes int
	// Coalesce, when positive (ring buffers only, at least MinCoalesce),
	// turns on wake-up coalescing with this bound on the delay it adds
	// (see coalesce.go).
	Coalesce time.Duration
	// Counters receives Wakeups (and, for perf, losses). Required.
	Counters *core.Counters
}

func (o Options) withDefaults() Options {
	if o.SliceRecords <= 0 {
		o.SliceRecords = DefaultSliceRecords
	}
	if o.SliceBytes <= 0 {
		o.SliceBytes = DefaultSliceBytes
	}
	if o.PublishBytes <= 0 {
		o.PublishBytes = DefaultPublishBytes
	}
	if o.Counters == nil {
		o.Counters = core.NewCounters(0)
	}
	return o
}

// timeoutMillis converts an interval to an epoll_wait timeout: -1 (none) for
// zero, else at least 1 ms.
func timeoutMillis(d time.Duration) int {
	if d <= 0 {
		return -1
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return int(ms)
}

// wakeID is the epoll id of the eventfd; buffers use their index.
const wakeID = math.MaxInt32

// poller is one epoll instance with an eventfd for Interrupt and Close, and
// the state that keeps Close from unmapping under a running Drain.
type poller struct {
	epfd    int
	evfd    int
	events  []unix.EpollEvent
	timeout int

	closed atomic.Bool // read by Drain between slices

	mu       sync.Mutex
	draining bool
	released bool
	release  func() error // frees the owner's mmaps and fds; run once
}

func newPoller(n int, interval time.Duration) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	p := &poller{epfd: epfd, evfd: evfd, events: make([]unix.EpollEvent, n+1), timeout: timeoutMillis(interval)}
	if err := p.add(evfd, wakeID); err != nil {
		p.closeFDs()
		return nil, err
	}
	return p, nil
}

func (p *poller) add(fd, id int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd), Pad: int32(id)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	return nil
}

func (p *poller) closeFDs() {
	_ = unix.Close(p.evfd)
	_ = unix.Close(p.epfd)
}

// enter marks a Drain as running; false once closed.
func (p *poller) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return false
	}
	p.draining = true
	return true
}

// leave marks the Drain as finished and performs a release that Close
// deferred to it.
func (p *poller) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draining = false
	if p.closed.Load() && !p.released {
		p.doRelease()
	}
}

// doRelease runs with mu held.
func (p *poller) doRelease() {
	p.released = true
	if p.release != nil {
		_ = p.release()
	}
	p.closeFDs()
}

// wake makes a blocked or the next wait return. Safe from any goroutine, also
// after release (then it does nothing).
func (p *poller) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.released {
		p.signal()
	}
}

// signal writes the eventfd; mu held, not released.
func (p *poller) signal() {
	one := uint64(1)
	// EAGAIN means the counter is saturated: a wake-up is pending anyway.
	_, _ = unix.Write(p.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// close marks the poller closed and runs release now, or lets the running
// Drain run it as it leaves.
func (p *poller) close(release func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return nil
	}
	p.closed.Store(true)
	p.release = release
	if p.draining {
		p.signal()
		return nil
	}
	p.released = true
	err := release()
	p.closeFDs()
	return err
}

// sleep is a Drain's wait for data: wait, with a wake-up through the eventfd
// turned into what Drain returns for it, ErrClosed once closed and ErrWake
// otherwise.
func (p *poller) sleep(timeout int) (ready int, err error) {
	ready, woken, err := p.wait(timeout)
	switch {
	case err != nil:
		return 0, err
	case woken && p.closed.Load():
		return 0, transport.ErrClosed
	case woken:
		return 0, core.ErrWake
	}
	return ready, nil
}

// pause sleeps for d unless the eventfd fires first (Interrupt or Close),
// which it turns into ErrWake or ErrClosed as sleep does. Unlike sleep it
// does not wait for the buffers: a ring holding a busy record polls ready.
// A signal does not cut it short (the Go runtime preempts threads with
// signals): a coalescing tick cut short is a batch too small.
func (p *poller) pause(d time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(p.evfd), Events: unix.POLLIN}}
	deadline := time.Now().Add(d)
	var n int
	var err error
	for {
		ts := unix.NsecToTimespec(max(time.Until(deadline), 0).Nanoseconds())
		if n, err = unix.Ppoll(fds, &ts, nil); err != unix.EINTR {
			break
		}
	}
	switch {
	case err != nil:
		return fmt.Errorf("ppoll: %w", err)
	case n == 0:
		return nil
	}
	var buf [8]byte
	_, _ = unix.Read(p.evfd, buf[:])
	if p.closed.Load() {
		return transport.ErrClosed
	}
	return core.ErrWake
}

// rotate returns the buffer a round over k buffers starts with and moves
// *next on by one, so that no buffer is always read first.
func rotate(next *int, k int) int {
	start := *next
	if *next++; *next >= k {
		*next = 0
	}
	return start
}

// wait blocks in epoll_wait for at most timeout ms (-1: no limit). It
// returns the number of ready buffers (the eventfd not included), whether the
// eventfd fired (it is then reset), and an error for anything but EINTR.
func (p *poller) wait(timeout int) (ready int, woken bool, err error) {
	for {
		n, err := unix.EpollWait(p.epfd, p.events, timeout)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range p.events[:n] {
			if ev.Pad == wakeID {
				woken = true
				var buf [8]byte
				_, _ = unix.Read(p.evfd, buf[:])
				continue
			}
			ready++
		}
		return ready, woken, nil
	}
}

// Back-off for a reader that waits for a busy record (see spin).
const (
	spinYields  = 64
	spinMinWait = 16 * time.Microsecond
	spinMaxWait = 2 * time.Millisecond
)

// spin tracks a reader that found a ring buffer record reserved but not yet
// committed (busy) and nothing else to hand over. Most such records are
// committed within microseconds by a producer on another CPU, so it yields
// spinYields times first; then it sleeps, spinMinWait at first and twice as
// long each time up to spinMaxWait: a record held for long (a sleepable
// program faulting in user memory) costs a few hundred short sleeps a
// second, not a CPU, and delays the records after it by at most about
// spinMaxWait once committed.
type spin struct{ n int }

// stalled returns how long to sleep now, or 0 after yielding the processor
// (then try again without sleeping).
func (s *spin) stalled() time.Duration {
	s.n++
	if s.n <= spinYields {
		runtime.Gosched()
		return 0
	}
	shift := min(s.n-spinYields-1, 16)
	return min(spinMinWait<<shift, spinMaxWait)
}

func (s *spin) reset() { s.n = 0 }

// mmap maps length bytes of fd at offset.
func mmap(fd int, offset int64, length int, prot int) ([]byte, error) {
	b, err := unix.Mmap(fd, offset, length, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes at %d: %w", length, offset, err)
	}
	return b, nil
}
