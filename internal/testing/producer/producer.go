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

	"golang.org/x/sys/unix"
)

// Producer is a loaded test producer. Its methods are safe for concurrent
// use, but Close must not race with a running Run, Attempted or Dropped.
// After Close they return an error matching os.ErrClosed.
type Producer struct {
	cfg    Config
	coll   *ebpf.Collection
	runner // prog and budget
	out    *ebpf.Map
	drops  *ebpf.Map
	seq    *uint64        // mmapped seq_counter, nil if mmap is unsupported
	seqV   *ebpf.Variable // fallback for seq
	rings  []*ebpf.Map    // Config.Rings: the rings in out

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
	switch {
	case cfg.Rings > 0:
		progName, mapName = producerProgEmitRingsOutput, producerMapRings
	case cfg.Kind == RingbufOutput:
		progName, mapName = producerProgEmitRingbufOutput, producerMapRb
	case cfg.Kind == RingbufReserve:
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
	specRings(spec, cfg)
	replace := replacements(spec, cfg, mapName)

	vars := map[string]any{
		producerVarSampleSize:    uint32(cfg.SampleSize),
		producerVarMaxSampleSize: uint32(cfg.MaxSampleSize),
		producerVarBusyRings:     uint32(cfg.BusyRings),
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
		runner: runner{prog: coll.Programs[progName], budget: coll.Maps[producerMapBudget]},
		out:    coll.Maps[mapName],
		drops:  coll.Maps[producerMapDrops],
		seqV:   coll.Variables[producerVarSeqCounter],
	}
	if p.prog == nil || p.out == nil || p.drops == nil || p.budget == nil || p.seqV == nil {
		coll.Close()
		return nil, errors.New("producer: loaded collection lacks a program, map or variable")
	}
	if ptr, err := ebpf.VariablePointer[uint64](p.seqV); err == nil {
		p.seq = ptr
	}
	if err := p.fillRings(); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Config returns the effective configuration, defaults filled in.
func (p *Producer) Config() Config { return p.cfg }

// Map returns the map the samples go to: the ring buffer for the ring buffer
// kinds, the perf event array for Perf, the ARRAY_OF_MAPS of the rings with
// Config.Rings. It stays owned by the Producer (with Config.Map, it is the
// Producer's own reference to the caller's map).
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
		for _, m := range p.rings {
			m.Close()
		}
	}
	return nil
}
