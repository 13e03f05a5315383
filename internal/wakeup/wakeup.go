// Package wakeup holds the ring buffer producer's wake-up policy, which
// package ringbuf exports as ringbuf.Wakeup, and turns it into the read-only
// variables of wakeup.h, the policy code that bpfstream's BPF programs (the
// reference exec programs and the test producer) share.
//
// The policy lives here, not in ringbuf, because the test producer that
// internal/ring's tests load needs it, and ringbuf imports internal/ring.
package wakeup

import (
	"fmt"

	"github.com/bpfstream/bpfstream/transport"
)

// Policy is a ring buffer producer's wake-up policy: which flags a BPF
// program passes to bpf_ringbuf_output and bpf_ringbuf_submit. It is
// exported as ringbuf.Wakeup, whose doc says more.
type Policy int

// The policies; ringbuf exports them as WakeupAdaptive and the others.
const (
	// Adaptive passes no flag: the kernel wakes the reader when it has
	// caught up with the producer (the kernel's default).
	Adaptive Policy = iota
	// Never passes BPF_RB_NO_WAKEUP: the reader is never woken and must
	// drain on a timer.
	Never
	// Always passes BPF_RB_FORCE_WAKEUP: every record wakes the reader.
	Always
	// Bytes forces a wake-up once at least a threshold of bytes is waiting
	// and passes BPF_RB_NO_WAKEUP otherwise, as the kernel's ringbuf
	// benchmark does. The reader must also drain on a timer, for the tail
	// below the threshold.
	Bytes
)

// Kernel ringbuf flags (include/uapi/linux/bpf.h).
const (
	rbNoWakeup    = 1 << 0
	rbForceWakeup = 1 << 1
)

var names = [...]string{"adaptive", "never", "always", "bytes"}

// String returns "adaptive", "never", "always" or "bytes".
func (p Policy) String() string {
	if p >= Adaptive && p <= Bytes {
		return names[p]
	}
	return fmt.Sprintf("Wakeup(%d)", int(p))
}

// Parse parses the names String returns.
func Parse(s string) (Policy, error) {
	for p := Adaptive; p <= Bytes; p++ {
		if s == p.String() {
			return p, nil
		}
	}
	return Adaptive, fmt.Errorf("ringbuf: parse wake-up policy %q: want adaptive, never, always or bytes: %w", s, transport.ErrInvalidOptions)
}

// Validate checks p and its byte threshold (which only Bytes takes); errors
// match transport.ErrInvalidOptions.
func (p Policy) Validate(threshold int) error {
	switch p {
	case Adaptive, Never, Always:
		if threshold != 0 {
			return fmt.Errorf("a wake-up threshold of %d bytes needs the bytes policy, not %s: %w", threshold, p, transport.ErrInvalidOptions)
		}
	case Bytes:
		if threshold <= 0 {
			return fmt.Errorf("the bytes wake-up policy needs a positive threshold, not %d: %w", threshold, transport.ErrInvalidOptions)
		}
	default:
		return fmt.Errorf("the wake-up policy is %d, want adaptive, never, always or bytes: %w", int(p), transport.ErrInvalidOptions)
	}
	return nil
}

// NeedsTimer reports whether a consumer of a producer with this policy must
// drain on a timer to see every record.
func (p Policy) NeedsTimer() bool { return p == Never || p == Bytes }

// Vars returns the values of wakeup.h's read-only variables, by name, for a
// validated policy.
func (p Policy) Vars(threshold int) map[string]uint64 {
	var flags, bytes uint64
	switch p {
	case Never:
		flags = rbNoWakeup
	case Always:
		flags = rbForceWakeup
	case Bytes:
		bytes = uint64(threshold)
	}
	return map[string]uint64{"wakeup_flags": flags, "wakeup_bytes": bytes}
}
