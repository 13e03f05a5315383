package perfbuf

import (
	"fmt"
	"os"
	"time"

	"github.com/bpfstream/bpfstream/internal/reorder"
	"github.com/bpfstream/bpfstream/transport"
)

// DefaultPerCPUBytes is the per-CPU buffer size used when
// [Options.PerCPUBytes] is zero.
const DefaultPerCPUBytes = 32 << 10

// Options configure a [Consumer]. The zero value is valid.
type Options struct {
	// PerCPUBytes is the size of each CPU's buffer. The kernel needs a
	// power-of-two number of pages, so it is rounded up to one (plus one
	// metadata page that is not counted here). Zero means
	// [DefaultPerCPUBytes].
	PerCPUBytes int
	// WakeupEvents wakes the consumer only once a CPU's buffer holds this
	// many samples. Excludes WakeupBytes. Zero: wake on every sample.
	WakeupEvents int
	// WakeupBytes wakes the consumer only once a CPU's buffer holds this
	// many bytes (the perf watermark). Must be below the rounded buffer
	// size. Excludes WakeupEvents.
	WakeupBytes int
	// DrainInterval bounds how long records below a wake-up threshold wait:
	// the consumer also drains on this timer. Zero means 100ms when a
	// threshold is set, and no timer otherwise; negative is an error.
	DrainInterval time.Duration
	// MaxSampleBytes, when set, is the largest sample the program writes
	// (the size it passes to bpf_perf_event_output), and [New] fails unless a
	// per-CPU buffer holds such a sample together with the kernel's report
	// of lost samples. A buffer without that room jams silently: the kernel
	// never writes a sample that does not fit, and reports losses only
	// together with a later successful write, so once one sample is lost
	// every later write fails and Stats.Lost stays 0. Zero skips the check;
	// [MinPerCPUBytes] gives the size a sample needs.
	MaxSampleBytes int
	// OnLost, when set, is called on the consuming goroutine each time the
	// kernel reports that cpu's buffer dropped n samples (as libbpf's
	// lost_cb). The counts are also in Stats.
	OnLost func(cpu int, n uint64)
	// Reorder, when set, merges the per-CPU streams into timestamp order
	// (see [transport.Reorder]). Records then own their bytes.
	Reorder *transport.Reorder
	// Backend selects the reader implementation; the zero value is the
	// default.
	Backend Backend
}

// DefaultDrainInterval is the drain timer used when a wake-up threshold is set
// and [Options.DrainInterval] is zero.
const DefaultDrainInterval = 100 * time.Millisecond

// maxPerCPUBytes caps buffer sizes well below what would overflow the
// kernel's page counts; nobody needs 1 GiB per CPU.
const maxPerCPUBytes = 1 << 30

// withDefaults validates o and fills in defaults.
func (o Options) withDefaults() (Options, error) {
	if o.PerCPUBytes == 0 {
		o.PerCPUBytes = DefaultPerCPUBytes
	}
	if o.PerCPUBytes < 0 || o.PerCPUBytes > maxPerCPUBytes {
		return o, fmt.Errorf("perfbuf: PerCPUBytes %d out of range (1..%d): %w", o.PerCPUBytes, maxPerCPUBytes, transport.ErrInvalidOptions)
	}
	if o.WakeupEvents < 0 || o.WakeupBytes < 0 || o.DrainInterval < 0 {
		return o, fmt.Errorf("perfbuf: negative WakeupEvents, WakeupBytes or DrainInterval: %w", transport.ErrInvalidOptions)
	}
	if o.WakeupEvents > 0 && o.WakeupBytes > 0 {
		return o, fmt.Errorf("perfbuf: WakeupEvents and WakeupBytes are exclusive: %w", transport.ErrInvalidOptions)
	}
	if size := RoundedSize(o.PerCPUBytes); o.WakeupBytes >= size {
		return o, fmt.Errorf("perfbuf: WakeupBytes %d must be below the per-CPU buffer size %d: %w", o.WakeupBytes, size, transport.ErrInvalidOptions)
	}
	if o.MaxSampleBytes < 0 {
		return o, fmt.Errorf("perfbuf: negative MaxSampleBytes %d: %w", o.MaxSampleBytes, transport.ErrInvalidOptions)
	}
	if need := MinPerCPUBytes(o.MaxSampleBytes); o.MaxSampleBytes > 0 && RoundedSize(o.PerCPUBytes) < need {
		return o, fmt.Errorf("perfbuf: a per-CPU buffer of %d bytes cannot hold a %d-byte sample with a lost-sample report: PerCPUBytes must be at least %d: %w",
			RoundedSize(o.PerCPUBytes), o.MaxSampleBytes, need, transport.ErrInvalidOptions)
	}
	if most := (RoundedSize(o.PerCPUBytes) - 8) / minRecordBytes; o.WakeupEvents > most {
		return o, fmt.Errorf("perfbuf: WakeupEvents %d can never be reached: a per-CPU buffer of %d bytes holds at most %d samples: %w",
			o.WakeupEvents, RoundedSize(o.PerCPUBytes), most, transport.ErrInvalidOptions)
	}
	if o.DrainInterval == 0 && (o.WakeupEvents > 1 || o.WakeupBytes > 0) {
		o.DrainInterval = DefaultDrainInterval
	}
	d, err := reorder.DrainTimer(o.Reorder, "perfbuf", o.DrainInterval)
	if err != nil {
		return o, err
	}
	o.DrainInterval = d
	return o, nil
}

// RoundedSize returns the per-CPU buffer size the kernel will use for a
// requested size: a power-of-two number of pages.
func RoundedSize(perCPUBytes int) int {
	page := os.Getpagesize()
	pages := (perCPUBytes + page - 1) / page
	n := 1
	for n < pages {
		n <<= 1
	}
	return n * page
}

// Sizes of perf records (include/uapi/linux/perf_event.h): a sample is an
// 8-byte header, a u32 size and the raw bytes padded to 8 bytes; a
// PERF_RECORD_LOST is a header, an id and a count.
const (
	minRecordBytes  = 16
	lostRecordBytes = 24
)

// MinPerCPUBytes returns the smallest per-CPU buffer size (a power-of-two
// number of pages) that holds a sample of sampleBytes together with the
// kernel's lost-sample report, which the kernel writes in one piece before
// the next sample after a loss. The kernel keeps one 8-byte slot free, so the
// two must stay below the buffer size.
func MinPerCPUBytes(sampleBytes int) int {
	record := 8 + (4+sampleBytes+7)&^7
	return RoundedSize(record + lostRecordBytes + 8)
}

// Backend selects the code that reads the buffers.
type Backend int

const (
	// BackendNative (the default) reads the buffers in place through
	// bpfstream's own mmap reader: a sample is copied only when it wraps
	// around the end of its buffer, and each buffer's tail is published once
	// per slice of records.
	BackendNative Backend = iota
	// BackendCilium reads through cilium/ebpf's perf.Reader, which copies
	// each sample out of the buffer. It is the reference the other readers
	// are tested against.
	BackendCilium
)
