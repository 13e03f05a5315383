package core

import (
	"github.com/bpfstream/bpfstream/transport"

	"errors"
	"os"
	"time"
)

// DrainTimer is the drain-timer state of a reader that blocks with an absolute
// deadline and reports flushes and closing with errors, as cilium/ebpf's perf
// and ringbuf readers do. Both transports' reference backends share it.
type DrainTimer struct {
	// Interval is the drain timer; zero disables it.
	Interval time.Duration
	armed    bool
}

// Arm sets a deadline Interval from now unless one is pending. Call it
// before each read; setDeadline must not block (the reader is idle then).
func (d *DrainTimer) Arm(setDeadline func(time.Time)) {
	if d.Interval > 0 && !d.armed {
		setDeadline(time.Now().Add(d.Interval))
		d.armed = true
	}
}

// ReadError maps a reader's error to what Source.Drain returns: a passed
// deadline (which re-arms the timer) or a flush is ErrWake, a closed reader
// transport.ErrClosed, anything else itself.
func (d *DrainTimer) ReadError(err, flushed error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		d.armed = false
		return ErrWake
	case errors.Is(err, flushed):
		return ErrWake
	case errors.Is(err, os.ErrClosed):
		return transport.ErrClosed
	}
	return err
}
