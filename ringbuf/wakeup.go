package ringbuf

import (
	"fmt"

	"github.com/bpfstream/bpfstream/transport"
)

// Wakeup is a ring buffer producer's wake-up policy: which flags a BPF program
// passes to bpf_ringbuf_output and bpf_ringbuf_submit. It is a property of the
// program, not of the consumer; bpfstream's reference programs (package bpf)
// and test producer (transporttest) take it in read-only data at load time.
// A consumer of a producer that may skip wake-ups ([WakeupNever], [WakeupBytes])
// must drain on a timer ([Options.DrainInterval]), or it never sees the records
// that no wake-up announced.
type Wakeup int

const (
	// WakeupAdaptive passes no flag: the kernel wakes the reader when it
	// has caught up with the producer (the kernel's default).
	WakeupAdaptive Wakeup = iota
	// WakeupNever passes BPF_RB_NO_WAKEUP: the reader is never woken and
	// must drain on a timer.
	WakeupNever
	// WakeupAlways passes BPF_RB_FORCE_WAKEUP: every record wakes the
	// reader.
	WakeupAlways
	// WakeupBytes forces a wake-up once at least a threshold of bytes is
	// waiting and passes BPF_RB_NO_WAKEUP otherwise, as the kernel's
	// ringbuf benchmark does. The reader must also drain on a timer, for the
	// tail below the threshold.
	WakeupBytes
)

// String returns "adaptive", "never", "always" or "bytes".
func (w Wakeup) String() string {
	switch w {
	case WakeupAdaptive:
		return "adaptive"
	case WakeupNever:
		return "never"
	case WakeupAlways:
		return "always"
	case WakeupBytes:
		return "bytes"
	}
	return fmt.Sprintf("Wakeup(%d)", int(w))
}

// ParseWakeup parses the names String returns.
func ParseWakeup(s string) (Wakeup, error) {
	for w := WakeupAdaptive; w <= WakeupBytes; w++ {
		if s == w.String() {
			return w, nil
		}
	}
	return WakeupAdaptive, fmt.Errorf("ringbuf: unknown wake-up policy %q (want adaptive, never, always or bytes): %w", s, transport.ErrInvalidOptions)
}

// Validate checks w and its byte threshold (which only [WakeupBytes] takes);
// errors match [transport.ErrInvalidOptions].
func (w Wakeup) Validate(threshold int) error {
	switch w {
	case WakeupAdaptive, WakeupNever, WakeupAlways:
		if threshold != 0 {
			return fmt.Errorf("a wake-up threshold of %d bytes needs the bytes policy, not %s: %w", threshold, w, transport.ErrInvalidOptions)
		}
	case WakeupBytes:
		if threshold <= 0 {
			return fmt.Errorf("the bytes wake-up policy needs a positive threshold, not %d: %w", threshold, transport.ErrInvalidOptions)
		}
	default:
		return fmt.Errorf("unknown wake-up policy %d: %w", int(w), transport.ErrInvalidOptions)
	}
	return nil
}

// NeedsTimer reports whether a consumer of a producer with this policy must
// drain on a timer to see every record.
func (w Wakeup) NeedsTimer() bool { return w == WakeupNever || w == WakeupBytes }
