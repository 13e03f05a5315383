//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package transporttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/transport"
)

// KernelProducer emits numbered samples into your ring buffer or perf event
// array from inside the kernel: a BPF socket filter run with
// BPF_PROG_TEST_RUN, so that integration tests of code built on perfbuf or
// ringbuf consumers see real kernel samples without attaching to anything.
//
// Every sample starts with a [SampleHeader]: a sequence number (0 for the first
// sample of a producer, then one more for each sample, lost ones included),
// the bpf_ktime_get_ns time, the CPU that emitted it and its size. Run emits
// exactly n samples (the kernel restarts an interrupted test run, and the
// program keeps a per-CPU budget so that restarts emit nothing twice).
// Checker verifies what a consumer delivered against Produced and the
// consumer's Stats.Lost.
//
// A perf event array reports the samples it lost only when it next writes a
// sample on that CPU, so after a burst with losses the consumer's Stats.Lost
// can stay short of them: once the consumer has drained the buffers, [Run] one
// more sample on each CPU to have them reported (and count it as produced).
// A ring buffer's losses are counted by the program, at once.
//
// KernelProducer implements [Producer], so Run (the conformance suite) can
// check a consumer of your own fed by it.
//
// Loading the program needs CAP_BPF (or CAP_SYS_ADMIN); errors without it
// match [transport.ErrPermission]. The program is compiled for little-endian
// machines.
type KernelProducer struct {
	p    *producer.Producer
	opts KernelProducerOptions

	mu   sync.Mutex
	cpus map[int]*sync.Mutex // one run per CPU at a time: the budget is per CPU
}

// NewKernelProducer loads the producer program against m, a
// BPF_MAP_TYPE_RINGBUF or a BPF_MAP_TYPE_PERF_EVENT_ARRAY that you created
// (and read with [ringbuf.New] or perfbuf.New), and opts.DropCounter. The
// producer holds its own references: close it, and your maps, when done.
// Invalid options and maps are errors matching [transport.ErrInvalidOptions].
func NewKernelProducer(m *ebpf.Map, opts KernelProducerOptions) (*KernelProducer, error) {
	if m == nil || m.FD() < 0 {
		return nil, core.CheckMap("transporttest: kernel producer", m)
	}
	if t := m.Type(); t != ebpf.RingBuf && t != ebpf.PerfEventArray {
		return nil, fmt.Errorf("transporttest: kernel producer: the map is a %v, want a RingBuf or a PerfEventArray: %w", t, transport.ErrInvalidOptions)
	}
	if err := opts.check(m); err != nil {
		return nil, err
	}
	cfg := producer.Config{
		Kind:          producer.Perf,
		SampleSize:    max(opts.SampleSize, SampleHeaderSize),
		MaxSampleSize: opts.VarSampleSize,
		Map:           m,
		Drops:         opts.DropCounter,
		Wakeup:        opts.Wakeup,
		WakeupBytes:   opts.WakeupBytes,
	}
	if m.Type() == ebpf.RingBuf {
		cfg.Kind = producer.RingbufOutput
		if opts.Reserve {
			cfg.Kind = producer.RingbufReserve
		}
	}
	p, err := producer.Load(cfg)
	if err != nil {
		return nil, wrapLoad(err)
	}
	return &KernelProducer{p: p, opts: opts, cpus: make(map[int]*sync.Mutex)}, nil
}

// wrapLoad classifies a load error of the producer's program.
func wrapLoad(err error) error {
	if errors.Is(err, producer.ErrConfig) || errors.Is(err, ebpf.ErrMapIncompatible) {
		return fmt.Errorf("transporttest: kernel producer: the map does not fit the program: %w: %w", reword(err), transport.ErrInvalidOptions)
	}
	return fmt.Errorf("transporttest: kernel producer: load the program: %w", core.WrapPermission(reword(err), core.CapBPF))
}

// Run runs the program n times on CPU cpu, which emits exactly n samples
// from that CPU into the map (each written, or counted as dropped by the
// program's drop counter or, for a perf event array, by the kernel). It
// returns once they are all in the map. Runs on different CPUs may overlap
// (call Run from several goroutines); runs on the same CPU take turns.
func (p *KernelProducer) Run(cpu, n int) error {
	if n < 0 {
		return core.BadOption("transporttest: kernel producer: run", "the sample count", n, "0 or more")
	}
	if err := checkCPU("the CPU to run on", cpu); err != nil {
		return err
	}
	mu := p.cpuLock(cpu)
	mu.Lock()
	defer mu.Unlock()
	if err := p.p.Run(cpu, n); err != nil {
		return fmt.Errorf("transporttest: kernel producer: run %d samples on CPU %d: %w", n, cpu, core.WrapPermission(reword(err), core.CapBPF))
	}
	return nil
}

func (p *KernelProducer) cpuLock(cpu int) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	mu := p.cpus[cpu]
	if mu == nil {
		mu = new(sync.Mutex)
		p.cpus[cpu] = mu
	}
	return mu
}

// Produced returns how many samples the program has emitted, on all CPUs:
// the sequence numbers 0 to Produced()-1, each delivered or lost.
func (p *KernelProducer) Produced() (uint64, error) {
	n, err := p.p.Attempted()
	if err != nil {
		return 0, fmt.Errorf("transporttest: kernel producer: read the sequence counter: %w", reword(err))
	}
	return n, nil
}

// Dropped returns the sum over CPUs of the drop counter's slot 0: the
// samples the program failed to write. Without a DropCounter option it is
// the producer's own counter.
func (p *KernelProducer) Dropped() (uint64, error) {
	n, err := p.p.Dropped()
	if err != nil {
		return 0, fmt.Errorf("transporttest: kernel producer: read the drop counter: %w", reword(err))
	}
	return n, nil
}

// Produce runs n samples on [KernelProducerOptions.CPU] and returns n, failing
// t on error: the [Producer] method for the conformance suite.
func (p *KernelProducer) Produce(t *testing.T, n int) int {
	t.Helper()
	if err := p.Run(p.opts.CPU, n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Seq returns a sample's sequence number: the [Producer] method for the
// conformance suite.
func (p *KernelProducer) Seq(sample []byte) (uint64, error) {
	h, err := ParseSampleHeader(sample)
	return h.Seq, err
}

// Close unloads the program and drops the producer's references to the
// maps, which stay open for their owner. It is idempotent; [Run] must not be
// running. Afterwards the methods fail with an error matching os.ErrClosed.
func (p *KernelProducer) Close() error {
	if err := p.p.Close(); err != nil {
		return fmt.Errorf("transporttest: kernel producer: close: %w", reword(err))
	}
	return nil
}
