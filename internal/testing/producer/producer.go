//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/wakeup"
	"golang.org/x/sys/unix"
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

// Producer is a loaded test producer. Its methods are safe for concurrent
// use, but Close must not race with a running Run, Attempted or Dropped.
// After Close they return an error matching os.ErrClosed.
type Producer struct {
	cfg    Config
	coll   *ebpf.Collection
	prog   *ebpf.Program
	out    *ebpf.Map
	drops  *ebpf.Map
	budget *ebpf.Map      // samples each CPU may still emit (see producer.bpf.c)
	seq    *uint64        // mmapped seq_counter, nil if mmap is unsupported
	seqV   *ebpf.Variable // fallback for seq

	closed atomic.Bool
}

// ErrConfig matches the errors of Load for an invalid Config, the caller's
// maps included.
var ErrConfig = errors.New("invalid producer configuration")

var errClosed = fmt.Errorf("producer: %w", os.ErrClosed)

// Load loads the producer program and the maps the configured kind needs
// (the ring buffer or the perf event array, not both).
func Load(cfg Config) (*Producer, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}

	spec, err := loadProducer()
	if err != nil {
		return nil, fmt.Errorf("producer: %w", err)
	}

	progName, mapName := producerProgEmitPerf, producerMapPb
	switch cfg.Kind {
	case RingbufOutput:
		progName, mapName = producerProgEmitRingbufOutput, producerMapRb
	case RingbufReserve:
		progName, mapName = producerProgEmitRingbufReserve, producerMapRb
	}
	for name := range spec.Programs {
		if name != progName {
			delete(spec.Programs, name)
		}
	}
	if cfg.Kind.Ringbuf() {
		delete(spec.Maps, producerMapPb)
		spec.Maps[producerMapRb].MaxEntries = uint32(cfg.RingSize)
	} else {
		delete(spec.Maps, producerMapRb)
		// pb keeps max_entries 0: the library sizes it to the possible CPUs.
	}
	replace := replacements(spec, cfg, mapName)

	vars := map[string]any{
		producerVarSampleSize:    uint32(cfg.SampleSize),
		producerVarMaxSampleSize: uint32(cfg.MaxSampleSize),
	}
	for name, v := range cfg.Wakeup.Vars(cfg.WakeupBytes) {
		vars[name] = v
	}
	for name, v := range vars {
		vs, ok := spec.Variables[name]
		if !ok {
			return nil, fmt.Errorf("producer: variable %s missing from object", name)
		}
		if err := vs.Set(v); err != nil {
			return nil, fmt.Errorf("producer: set %s: %w", name, err)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: replace})
	if err != nil {
		var ve *ebpf.VerifierError
		switch {
		case errors.As(err, &ve):
			return nil, fmt.Errorf("producer: load %v program: %+v", cfg.Kind, ve)
		case errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("producer: load %v program (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): %w", cfg.Kind, err)
		}
		return nil, fmt.Errorf("producer: load %v program: %w", cfg.Kind, err)
	}

	p := &Producer{
		cfg:    cfg,
		coll:   coll,
		prog:   coll.Programs[progName],
		out:    coll.Maps[mapName],
		drops:  coll.Maps[producerMapDrops],
		budget: coll.Maps[producerMapBudget],
		seqV:   coll.Variables[producerVarSeqCounter],
	}
	if p.prog == nil || p.out == nil || p.drops == nil || p.budget == nil || p.seqV == nil {
		coll.Close()
		return nil, errors.New("producer: loaded collection lacks a program, map or variable")
	}
	if ptr, err := ebpf.VariablePointer[uint64](p.seqV); err == nil {
		p.seq = ptr
	}
	return p, nil
}

// Config returns the effective configuration, defaults filled in.
func (p *Producer) Config() Config { return p.cfg }

// Map returns the map the samples go to: the ring buffer for the ring buffer
// kinds, the perf event array for Perf. It stays owned by the Producer (with
// Config.Map, it is the Producer's own reference to the caller's map).
func (p *Producer) Map() *ebpf.Map { return p.out }

// Drops returns the per-CPU array (one u32 key 0, u64 per-CPU values)
// counting samples the program failed to write (with Config.Drops, the
// Producer's own reference to the caller's map).
func (p *Producer) Drops() *ebpf.Map { return p.drops }

// Run runs the program n times on CPU cpu, so it emits about n samples from
// that CPU (more if the kernel restarts an interrupted run).
func (p *Producer) Run(cpu, n int) error {
	if n < 0 {
		return fmt.Errorf("producer: negative count %d", n)
	}
	if cpu < 0 {
		return fmt.Errorf("producer: invalid CPU %d", cpu)
	}
	if p.closed.Load() {
		return errClosed
	}
	if n == 0 {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- p.runPinned(cpu, n) }()
	return <-done
}

// AllCPUs lists CPUs 0 to runtime.NumCPU()-1, for RunParallel.
func AllCPUs() []int {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// RunParallel runs the program n times on each of cpus concurrently, one
// pinned thread per CPU.
func (p *Producer) RunParallel(cpus []int, n int) error {
	errs := make([]error, len(cpus))
	var wg sync.WaitGroup
	for i, cpu := range cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Run(cpu, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// runPinned must run on its own goroutine: it locks the goroutine to its
// thread and, if the thread's affinity cannot be restored, returns without
// unlocking so that the runtime discards the thread.
func (p *Producer) runPinned(cpu, n int) error {
	runtime.LockOSThread()

	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("producer: get CPU affinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("producer: pin to CPU %d: %w", cpu, err)
	}

	err := p.runN(cpu, n)

	if unix.SchedSetaffinity(0, &old) == nil {
		runtime.UnlockOSThread()
	}
	return err
}

func (p *Producer) runN(cpu, n int) error {
	// A socket filter test run needs at least an Ethernet header of input.
	var pkt [64]byte
	for n > 0 {
		chunk := min(n, runChunk)
		// The budget makes a run emit exactly chunk samples even when the
		// kernel restarts it after a signal.
		if err := p.budget.Update(uint32(cpu), uint64(chunk), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("producer: set the budget of CPU %d: %w", cpu, err)
		}
		if _, err := p.prog.Run(&ebpf.RunOptions{Data: pkt[:], Repeat: uint32(chunk)}); err != nil {
			if errors.Is(err, unix.EPERM) {
				return fmt.Errorf("producer: test run (needs CAP_BPF or CAP_SYS_ADMIN): %w", err)
			}
			return fmt.Errorf("producer: test run: %w", err)
		}
		n -= chunk
	}
	return nil
}

// Attempted returns how many samples the program has tried to emit so far,
// on all CPUs: delivered plus dropped.
func (p *Producer) Attempted() (uint64, error) {
	if p.closed.Load() {
		return 0, errClosed
	}
	if p.seq != nil {
		return atomic.LoadUint64(p.seq), nil
	}
	var v uint64
	if err := p.seqV.Get(&v); err != nil {
		return 0, fmt.Errorf("producer: read sequence counter: %w", err)
	}
	return v, nil
}

// Dropped returns how many samples the program failed to write, summed over
// CPUs.
func (p *Producer) Dropped() (uint64, error) {
	if p.closed.Load() {
		return 0, errClosed
	}
	var perCPU []uint64
	if err := p.drops.Lookup(uint32(0), &perCPU); err != nil {
		return 0, fmt.Errorf("producer: read drop counter: %w", err)
	}
	var sum uint64
	for _, v := range perCPU {
		sum += v
	}
	return sum, nil
}

// Close releases the program and the maps, including Map and Drops. It is
// idempotent.
func (p *Producer) Close() error {
	if p.closed.CompareAndSwap(false, true) {
		p.coll.Close()
	}
	return nil
}
