//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"fmt"
	"os"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/wakeup"
)

// Kind selects the program and the map the samples go to.
type Kind int

const (
	// RingbufOutput builds each sample in a per-CPU scratch slot and copies
	// it into the ring buffer with bpf_ringbuf_output.
	RingbufOutput Kind = iota
	// RingbufReserve writes each sample in place with
	// bpf_ringbuf_reserve/bpf_ringbuf_submit.
	RingbufReserve
	// Perf builds each sample in a per-CPU scratch slot and writes it into
	// the perf event array with bpf_perf_event_output(BPF_F_CURRENT_CPU).
	Perf
)

func (k Kind) String() string {
	switch k {
	case RingbufOutput:
		return "RingbufOutput"
	case RingbufReserve:
		return "RingbufReserve"
	case Perf:
		return "Perf"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Ringbuf reports whether the kind writes into a ring buffer.
func (k Kind) Ringbuf() bool { return k == RingbufOutput || k == RingbufReserve }

// Wakeup is the ring buffer wake-up policy of the producer. It has no effect
// on Perf, whose wake-ups are configured on the reader.
type Wakeup = wakeup.Policy

// Wake-up policies (see package internal/wakeup).
const (
	WakeupAdaptive = wakeup.Adaptive
	WakeupNever    = wakeup.Never
	WakeupAlways   = wakeup.Always
	WakeupBytes    = wakeup.Bytes
)

const (
	// DefaultRingSize is the ring buffer size used when Config.RingSize is 0.
	DefaultRingSize = 256 * 1024

	// Flag values of bpf_ringbuf_output / bpf_ringbuf_submit (linux/bpf.h).

	// runChunk bounds one BPF_PROG_TEST_RUN call. The kernel retries an
	// interrupted run from the start, so smaller chunks waste less.
	runChunk = 1 << 16
)

// Config configures a Producer.
type Config struct {
	Kind Kind
	// SampleSize is the size of every sample in bytes, HeaderSize to
	// MaxSample; 0 means HeaderSize.
	SampleSize int
	// MaxSampleSize, when above SampleSize (at most MaxSample), makes the
	// sizes vary: the sample with sequence number seq has SampleSize + seq %
	// (MaxSampleSize - SampleSize + 1) bytes (Header.Size says how many), and
	// the payload byte i after the header is byte(seq + i) (PayloadByte).
	// RingbufOutput and Perf only: bpf_ringbuf_reserve takes a constant
	// size. 0 means fixed-size samples.
	MaxSampleSize int
	// Map, when set, is the caller's map the samples go to instead of one
	// the Producer creates: a ring buffer for the ring buffer kinds (RingSize
	// is then ignored), a perf event array for Perf. The program is loaded
	// against it (the Producer holds its own reference; the caller keeps
	// and closes Map).
	Map *ebpf.Map
	// Drops, when set, is the caller's drop counter instead of one the
	// Producer creates: a per-CPU array with 4-byte keys and 8-byte values,
	// whose slot 0 counts the samples the program failed to write.
	Drops *ebpf.Map
	// RingSize is the ring buffer size in bytes (ring buffer kinds only): a
	// power of two and a multiple of the page size; 0 means DefaultRingSize.
	RingSize int
	// Wakeup is the ring buffer wake-up policy (ring buffer kinds only).
	Wakeup Wakeup
	// WakeupBytes is the threshold of WakeupBytes; it must be positive then,
	// and is ignored otherwise.
	WakeupBytes int
	// Rings, when positive, makes a RingbufOutput producer write into that
	// many ring buffers of RingSize bytes each, which it creates and holds
	// in a BPF_MAP_TYPE_ARRAY_OF_MAPS (Producer.Map; the rings are
	// Producer.Rings). Map and WakeupBytes do not apply. 0: one ring.
	Rings int
	// BusyRings is how many of the Rings receive samples: sample seq goes to
	// ring seq % BusyRings. 0 means all of them.
	BusyRings int
}

func (cfg Config) normalize() (Config, error) {
	switch cfg.Kind {
	case RingbufOutput, RingbufReserve, Perf:
	default:
		return cfg, fmt.Errorf("producer: unknown kind %v", cfg.Kind)
	}
	if cfg.SampleSize == 0 {
		cfg.SampleSize = HeaderSize
	}
	if cfg.SampleSize < HeaderSize || cfg.SampleSize > MaxSample {
		return cfg, fmt.Errorf("producer: sample size %d out of range [%d, %d]", cfg.SampleSize, HeaderSize, MaxSample)
	}
	if cfg.MaxSampleSize != 0 {
		if cfg.MaxSampleSize < cfg.SampleSize || cfg.MaxSampleSize > MaxSample {
			return cfg, fmt.Errorf("producer: maximum sample size %d out of range [%d, %d]", cfg.MaxSampleSize, cfg.SampleSize, MaxSample)
		}
		if cfg.Kind == RingbufReserve && cfg.MaxSampleSize != cfg.SampleSize {
			return cfg, fmt.Errorf("producer: %v emits fixed-size samples only (bpf_ringbuf_reserve takes a constant size)", cfg.Kind)
		}
	}
	if err := checkMaps(cfg); err != nil {
		return cfg, err
	}
	if err := checkRings(&cfg); err != nil {
		return cfg, err
	}
	if !cfg.Kind.Ringbuf() {
		return cfg, nil
	}
	if cfg.Map != nil {
		cfg.RingSize = int(cfg.Map.MaxEntries())
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = DefaultRingSize
	}
	page := os.Getpagesize()
	if cfg.RingSize < page || cfg.RingSize&(cfg.RingSize-1) != 0 || cfg.RingSize > 1<<30 {
		return cfg, fmt.Errorf("producer: ring size %d must be a power of two between the page size (%d) and 1 GiB", cfg.RingSize, page)
	}
	if cfg.Wakeup != WakeupBytes {
		cfg.WakeupBytes = 0 // ignored by the other policies
	}
	if cfg.Wakeup < WakeupAdaptive || cfg.Wakeup > WakeupBytes || (cfg.Wakeup == WakeupBytes) != (cfg.WakeupBytes > 0) {
		return cfg, fmt.Errorf("producer: wake-up policy %d with a threshold of %d bytes", cfg.Wakeup, cfg.WakeupBytes)
	}
	return cfg, nil
}
