// Package wakeup turns a ring buffer wake-up policy into the read-only
// variables of wakeup.h, the policy code that bpfstream's BPF programs (the
// reference exec programs and the test producer) share.
//
// Policy has the values of the public ringbuf.Wakeup, which package bpf
// converts; the test rigs use Policy directly because internal/ring's tests
// cannot import package ringbuf.
package wakeup

// Policy is a ring buffer producer's wake-up policy (see ringbuf.Wakeup).
type Policy int

// The policies, with the values of ringbuf.WakeupAdaptive and the others.
const (
	Adaptive Policy = iota
	Never
	Always
	Bytes
)

// Kernel ringbuf flags (include/uapi/linux/bpf.h).
const (
	rbNoWakeup    = 1 << 0
	rbForceWakeup = 1 << 1
)

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

// String returns the name ringbuf.Wakeup's String gives the same value.
func (p Policy) String() string {
	if p >= Adaptive && p <= Bytes {
		return [...]string{"adaptive", "never", "always", "bytes"}[p]
	}
	return "unknown"
}
