package ring

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parker waits for an epoll instance to become ready by parking the
// goroutine in the Go runtime's network poller (the epoll fd is itself
// pollable), not by blocking its thread in epoll_wait. A thread blocked in
// a system call makes the runtime's monitor take its P away after 20 µs
// and start another thread for it, and the thread's return then looks for
// a P again; with few Ps (GOMAXPROCS 1 on a consumer pinned to a CPU) that
// is most of what a wake-up costs the consumer. A parked goroutine costs
// none of it: the runtime's own poller wakes it on the same thread
// (BENCHMARKS.md, "Parking in the runtime's poller").
type parker struct {
	f  *os.File
	rc syscall.RawConn
	// pollable is false where the runtime cannot poll the fd: the
	// reader then blocks in epoll_wait.
	pollable bool
	deadline bool // a deadline is set
}

// newParker makes epfd non-blocking and registers it with the runtime's
// poller; where either fails, the parker is not pollable. The parker owns
// epfd (an os.File closes it when collected): close it with close.
func newParker(epfd int) *parker {
	nonblock := unix.SetNonblock(epfd, true) == nil
	pk := &parker{f: os.NewFile(uintptr(epfd), "epoll")}
	rc, err := pk.f.SyscallConn()
	// A file the runtime cannot poll refuses deadlines.
	if err == nil && nonblock && pk.f.SetReadDeadline(time.Time{}) == nil {
		pk.rc, pk.pollable = rc, true
	}
	return pk
}

// wait returns the events epoll reports, parking until there are some or
// until timeout ms have passed (-1: no limit); n is 0 on a timeout.
func (pk *parker) wait(events []unix.EpollEvent, timeout int) (n int, err error) {
	if timeout >= 0 || pk.deadline {
		var d time.Time
		if timeout >= 0 {
			d = time.Now().Add(time.Duration(timeout) * time.Millisecond)
		}
		if err := pk.f.SetReadDeadline(d); err != nil {
			return 0, fmt.Errorf("epoll fd: set deadline: %w", err)
		}
		pk.deadline = timeout >= 0
	}
	var werr error
	err = pk.rc.Read(func(fd uintptr) bool {
		n, werr = epollNow(int(fd), events)
		return n > 0 || werr != nil
	})
	switch {
	case werr != nil:
		return 0, werr
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("epoll fd: wait: %w", err)
	}
	return n, nil
}

// close closes the epoll fd.
func (pk *parker) close() error { return pk.f.Close() }

// epollNow is epoll_wait with a zero timeout, as a raw system call: it does
// not block, so it need not tell the runtime, which would wake its monitor.
func epollNow(epfd int, events []unix.EpollEvent) (int, error) {
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, fmt.Errorf("epoll_wait: %w", errno)
	}
}
