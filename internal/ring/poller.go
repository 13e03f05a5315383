package ring

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// wakeID is the epoll id of the eventfd; buffers use their index.
const wakeID = math.MaxInt32

// poller is one epoll instance with an eventfd for Interrupt, Close and the
// lent batches' releases, and the state that keeps Close from unmapping under
// a running Drain.
type poller struct {
	epfd    int
	evfd    int
	events  []unix.EpollEvent
	timeout int // epoll_wait's: the drain interval in ms, -1 for none

	closed      atomic.Bool // read by Drain between slices
	interrupted atomic.Bool // Interrupt was called: the next wait returns ErrWake
	// sleeping: a Drain waits, or is about to, and a release must wake
	// it (kick). The Drain sets it before its last look at the lent
	// batches and a release raises the floor before it reads sleeping,
	// so that one of the two sees the other: set later, a release that
	// came between the look and the wait would go unheard, and the
	// reader would sleep a whole lendPoll with records it may publish.
	sleeping atomic.Bool

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

// add registers fd under id, which epoll_wait returns for it: the buffer's
// index, so that a wake-up names the buffers that have data.
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
		p.released = true
		if p.release != nil {
			_ = p.release()
		}
		p.closeFDs()
	}
}

// wake makes a blocked or the next Drain return ErrWake. Safe from any
// goroutine, also after release (then it does nothing).
func (p *poller) wake() {
	p.interrupted.Store(true)
	p.signal()
}

// kick wakes a Drain that waits, without making it return: a lent batch was
// released, and the reader may publish further. Safe from any goroutine.
func (p *poller) kick() {
	if p.sleeping.Load() {
		p.signal()
	}
}

// signal writes the eventfd unless released.
func (p *poller) signal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.released {
		one := uint64(1)
		// EAGAIN means the counter is saturated: a wake-up is pending.
		_, _ = unix.Write(p.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
	}
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
		one := uint64(1)
		_, _ = unix.Write(p.evfd, (*[8]byte)(unsafe.Pointer(&one))[:])
		return nil
	}
	p.released = true
	err := release()
	p.closeFDs()
	return err
}

// woken resets the eventfd and turns what fired it into what Drain returns:
// ErrClosed once closed, ErrWake after Interrupt, and nil for a kick.
func (p *poller) woken() error {
	var buf [8]byte
	_, _ = unix.Read(p.evfd, buf[:])
	switch {
	case p.closed.Load():
		return transport.ErrClosed
	case p.interrupted.Swap(false):
		return core.ErrWake
	}
	return nil
}

// epoll waits in epoll_wait for at most timeout ms (-1: no limit, 0: look
// only) and adds the buffers it reports ready to v. It returns how many it
// reported, whether the eventfd fired, and then what woken returns.
func (p *poller) epoll(timeout int, v *visitSet) (ready int, fired bool, err error) {
	for {
		n, err := unix.EpollWait(p.epfd, p.events, timeout)
		if err == unix.EINTR {
			if timeout == 0 {
				return 0, false, nil
			}
			continue
		}
		if err != nil {
			return 0, false, fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range p.events[:n] {
			if ev.Pad == wakeID {
				fired = true
				continue
			}
			v.add(int(ev.Pad))
			ready++
		}
		if fired {
			return ready, true, p.woken()
		}
		return ready, false, nil
	}
}

// pause sleeps for d unless the eventfd fires first, then adds the buffers
// epoll has found ready meanwhile to v. Unlike epoll it does not wait for
// the buffers: a ring holding a busy record or a lent batch polls ready. A
// signal does not cut it short (the Go runtime preempts threads with
// signals): a coalescing tick cut short is a batch too small.
func (p *poller) pause(d time.Duration, v *visitSet) error {
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
	if err != nil {
		return fmt.Errorf("ppoll: %w", err)
	}
	if n > 0 {
		if err := p.woken(); err != nil {
			return err
		}
	}
	_, _, err = p.epoll(0, v)
	return err
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

// mmap maps length bytes of fd at offset.
func mmap(fd int, offset int64, length int, prot int) ([]byte, error) {
	b, err := unix.Mmap(fd, offset, length, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %d bytes at %d: %w", length, offset, err)
	}
	return b, nil
}
