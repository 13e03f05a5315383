package ring

import (
	"runtime"
	"time"
)

// Waiting. A Drain whose round handed nothing over waits before it looks
// again; the policies (caught-up polling, a busy record's back-off,
// coalescing ticks, lent batches, the drain interval) each choose a wait, as
// data, and await performs it: one place where a reader blocks, and where
// epoll's report of ready buffers feeds the visit set.

// waitKind is how a reader waits.
type waitKind uint8

const (
	// waitLag spins for d without a system call and without touching a
	// buffer: caught-up polling (see pollGate).
	waitLag waitKind = iota
	// waitYield lets other goroutines run once.
	waitYield
	// waitPause sleeps for d, awake to Interrupt, Close and releases of
	// lent batches, then adds the buffers epoll found ready to the visit
	// set. It does not wait for data: a ring holding a busy record or a
	// lent batch polls ready, and a coalescing reader sleeps on purpose.
	waitPause
	// waitEpoll sleeps in epoll until a buffer is ready, up to the drain
	// interval.
	waitEpoll
)

// wait is one wait a policy chose.
type wait struct {
	kind waitKind
	d    time.Duration
}

// await performs w. It reports whether an epoll wait ended by its timeout
// (the drain interval: the caller looks at every buffer once, then returns
// ErrWake), and ErrWake or ErrClosed when Interrupt or Close ended it. A
// reader that must be woken by the release of a lent batch marks itself
// sleeping before it looks at its lent batches (poller.sleeping).
func (p *poller) await(w wait, v *visitSet) (timedOut bool, err error) {
	switch w.kind {
	case waitLag:
		lag(w.d)
		return false, nil
	case waitYield:
		runtime.Gosched()
		return false, nil
	}
	if w.kind == waitPause {
		return false, p.pause(w.d, v)
	}
	ready, fired, err := p.epoll(p.timeout, v)
	return err == nil && ready == 0 && !fired, err
}

// lag waits d without a system call and without touching the buffers.
func lag(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
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

// stalled returns the next wait.
func (s *spin) stalled() wait {
	s.n++
	if s.n <= spinYields {
		return wait{kind: waitYield}
	}
	shift := min(s.n-spinYields-1, 16)
	return wait{kind: waitPause, d: min(spinMinWait<<shift, spinMaxWait)}
}

func (s *spin) reset() { s.n = 0 }
