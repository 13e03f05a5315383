// Package wakeup is the ring buffer wake-up policy that bpfstream's BPF
// programs share (wakeup.h beside this file): which flags they pass to
// bpf_ringbuf_output and bpf_ringbuf_submit, set in read-only data at load
// time. Package bpf re-exports Policy as bpf.Wakeup.
package wakeup

import (
	"fmt"
	"time"
)

// Policy is a ring buffer producer's wake-up policy.
type Policy int

const (
	// Adaptive passes no flag: the kernel wakes the reader when it has
	// caught up with the producer (the default).
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

// String returns "adaptive", "never", "always" or "bytes".
func (p Policy) String() string {
	switch p {
	case Adaptive:
		return "adaptive"
	case Never:
		return "never"
	case Always:
		return "always"
	case Bytes:
		return "bytes"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Kernel ringbuf flags (include/uapi/linux/bpf.h).
const (
	rbNoWakeup    = 1 << 0
	rbForceWakeup = 1 << 1
)

// Validate checks p and its byte threshold (which only Bytes takes).
func (p Policy) Validate(threshold int) error {
	switch p {
	case Adaptive, Never, Always:
		if threshold != 0 {
			return fmt.Errorf("a wake-up threshold of %d bytes needs the bytes policy, not %s", threshold, p)
		}
	case Bytes:
		if threshold <= 0 {
			return fmt.Errorf("the bytes wake-up policy needs a positive threshold, not %d", threshold)
		}
	default:
		return fmt.Errorf("unknown wake-up policy %d", int(p))
	}
	return nil
}

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

// NeedsTimer reports whether a consumer of a producer with this policy must
// drain on a timer to see every record.
func (p Policy) NeedsTimer() bool { return p == Never || p == Bytes }

// DefaultDrainInterval is the drain timer bpfstream's loaders give consumers
// of producers that may skip wake-ups.
const DefaultDrainInterval = 100 * time.Millisecond
