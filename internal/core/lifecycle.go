package core

import (
	"github.com/bpfstream/bpfstream/transport"

	"sync"
)

// Lifecycle tracks the closed and running state that every Consumer shares:
// Close is idempotent and closes Done; only one Consume runs at a time;
// Consume after Close fails with transport.ErrClosed.
type Lifecycle struct {
	mu      sync.Mutex
	closed  bool
	running bool
	done    chan struct{}
}

// NewLifecycle returns an open Lifecycle.
func NewLifecycle() *Lifecycle {
	return &Lifecycle{done: make(chan struct{})}
}

// Begin marks a Consume as running. It fails with transport.ErrClosed after Close and
// with transport.ErrBusy while another Consume runs. Call End when Consume returns.
func (l *Lifecycle) Begin() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return transport.ErrClosed
	}
	if l.running {
		return transport.ErrBusy
	}
	l.running = true
	return nil
}

// End marks the running Consume as finished.
func (l *Lifecycle) End() {
	l.mu.Lock()
	l.running = false
	l.mu.Unlock()
}

// Close marks the lifecycle closed. It returns true only for the first call,
// which must then release the consumer's resources.
func (l *Lifecycle) Close() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closed = true
	close(l.done)
	return true
}

// Closed reports whether Close has been called.
func (l *Lifecycle) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Done is closed by the first Close.
func (l *Lifecycle) Done() <-chan struct{} { return l.done }

// Do runs f while holding the lifecycle lock if the lifecycle is still open,
// and reports whether it ran. Stats uses it to read kernel memory that Close
// unmaps.
func (l *Lifecycle) Do(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	f()
	return true
}
