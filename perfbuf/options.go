package perfbuf

import (
	"fmt"
	"os"
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
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
	// Shards, when above 1, drains the CPUs' buffers on that many
	// goroutines (BackendNative only, at most one per CPU), each with its
	// own epoll instance and its own share of the CPUs (the i-th online
	// CPU goes to shard i mod Shards): a consumer of many busy CPUs then
	// uses more than one CPU itself.
	//
	// WITH SHARDS ABOVE 1, THE HANDLER (AND OnLost) IS CALLED
	// CONCURRENTLY, from up to Shards goroutines at once, and must be safe
	// for that. Each CPU's records still come in order, on one goroutine;
	// records of CPUs in different shards come in no defined order. Stats
	// counts every shard; Close ends every shard's drain, and Consume
	// returns once all of them have returned (no goroutine outlives it); a
	// cancelled context, a handler error or a failure in one shard ends all
	// of them, and Consume returns the first error. Reorder and
	// transport.Batches, which need one handler goroutine, are refused;
	// transport.Records, whose handler is not safe for concurrent calls
	// either, must not be used with Shards. Zero or 1: one goroutine, the
	// one that calls Consume.
	Shards int
}

// DefaultDrainInterval is the drain timer used when a wake-up threshold is set
// and [Options.DrainInterval] is zero.
const DefaultDrainInterval = 100 * time.Millisecond

// maxPerCPUBytes caps buffer sizes well below what would overflow the
// kernel's page counts; nobody needs 1 GiB per CPU.
const maxPerCPUBytes = 1 << 30

// maxSampleBytes is the largest sample the kernel can write: a perf record's
// size is a u16, and holds an 8-byte header, the 4-byte size and the sample
// padded to 8 bytes.
const maxSampleBytes = 0xffff&^7 - 8 - 4

// withDefaults validates every field of o, and fills in defaults. This is
// the only check of a consumer's options: the readers take them as given.
func (o Options) withDefaults() (Options, error) {
	bad := func(field string, value any, want string) error {
		return core.BadOption("perfbuf", "Options."+field, value, want)
	}
	if o.PerCPUBytes < 0 || o.PerCPUBytes > maxPerCPUBytes {
		return o, bad("PerCPUBytes", o.PerCPUBytes, fmt.Sprintf("0 (DefaultPerCPUBytes) to %d", maxPerCPUBytes))
	}
	if o.PerCPUBytes == 0 {
		o.PerCPUBytes = DefaultPerCPUBytes
	}
	size := RoundedSize(o.PerCPUBytes)
	if most := (size - 8) / minRecordBytes; o.WakeupEvents < 0 || o.WakeupEvents > most {
		return o, bad("WakeupEvents", o.WakeupEvents, fmt.Sprintf("0 (every sample) to %d, the most samples a %d-byte buffer holds", most, size))
	}
	if o.WakeupBytes < 0 || o.WakeupBytes >= size {
		return o, bad("WakeupBytes", o.WakeupBytes, fmt.Sprintf("0 (off) to %d, below the %d-byte buffer", size-1, size))
	}
	if o.WakeupEvents > 0 && o.WakeupBytes > 0 {
		return o, fmt.Errorf("perfbuf: Options.WakeupEvents (%d) and Options.WakeupBytes (%d) are both set; set one of them: %w", o.WakeupEvents, o.WakeupBytes, transport.ErrInvalidOptions)
	}
	if o.DrainInterval < 0 {
		return o, bad("DrainInterval", o.DrainInterval, "0 (the default) or more")
	}
	if o.MaxSampleBytes < 0 || o.MaxSampleBytes > maxSampleBytes {
		return o, bad("MaxSampleBytes", o.MaxSampleBytes, fmt.Sprintf("0 (no check) to %d, the largest sample the kernel writes", maxSampleBytes))
	}
	if need := MinPerCPUBytes(o.MaxSampleBytes); o.MaxSampleBytes > 0 && size < need {
		return o, bad("PerCPUBytes", o.PerCPUBytes, fmt.Sprintf("at least %d: a %d-byte buffer cannot hold a %d-byte sample (Options.MaxSampleBytes) with the kernel's lost-sample report", need, size, o.MaxSampleBytes))
	}
	if o.Backend != BackendNative && o.Backend != BackendCilium {
		return o, bad("Backend", int(o.Backend), "BackendNative or BackendCilium")
	}
	if err := glue.CheckShards("perfbuf", o.Shards, o.Backend == BackendNative, o.Reorder != nil); err != nil {
		return o, err
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
