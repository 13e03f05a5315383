package ringbuf

import "github.com/bpfstream/bpfstream/internal/wakeup"

// Wakeup is a ring buffer producer's wake-up policy: which flags a BPF program
// passes to bpf_ringbuf_output and bpf_ringbuf_submit. It is a property of the
// program, not of the consumer; bpfstream's reference programs (package bpf)
// and test producer (transporttest) take it in read-only data at load time.
// A consumer of a producer that may skip wake-ups ([WakeupNever], [WakeupBytes])
// must drain on a timer ([Options.DrainInterval]), or it never sees the records
// that no wake-up announced.
//
// Its methods: String returns "adaptive", "never", "always" or "bytes";
// Validate(threshold int) error checks the policy and its byte threshold
// (only WakeupBytes takes one, and needs it positive; errors match
// transport.ErrInvalidOptions); NeedsTimer reports whether a consumer must
// drain on a timer to see every record (WakeupNever and WakeupBytes).
type Wakeup = wakeup.Policy

const (
	// WakeupAdaptive passes no flag: the kernel wakes the reader when it
	// has caught up with the producer (the kernel's default).
	WakeupAdaptive = wakeup.Adaptive
	// WakeupNever passes BPF_RB_NO_WAKEUP: the reader is never woken and
	// must drain on a timer.
	WakeupNever = wakeup.Never
	// WakeupAlways passes BPF_RB_FORCE_WAKEUP: every record wakes the
	// reader.
	WakeupAlways = wakeup.Always
	// WakeupBytes forces a wake-up once at least a threshold of bytes is
	// waiting and passes BPF_RB_NO_WAKEUP otherwise, as the kernel's
	// ringbuf benchmark does. The reader must also drain on a timer, for
	// the tail below the threshold.
	WakeupBytes = wakeup.Bytes
)

// ParseWakeup parses the names Wakeup's String returns; an unknown name is an
// error matching [transport.ErrInvalidOptions].
func ParseWakeup(s string) (Wakeup, error) { return wakeup.Parse(s) }
