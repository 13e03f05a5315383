// Package bench measures consumer paths side by side on the in-kernel test
// producer: a hand-written cilium/ebpf ReadInto loop (the baseline) and
// bpfstream's callback, channel and batched channel paths. Go benchmarks and
// the examples/bench command share it, so they measure the same thing.
package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// Path names one way of reading the producer's samples.
type Path string

// The paths every transport offers.
const (
	// Raw is a hand-written cilium/ebpf loop: ReadInto with a reused
	// record. It is the baseline the other paths are compared with.
	Raw Path = "raw"
	// Callback is bpfstream's Consume with a handler that only counts.
	Callback Path = "callback"
	// Iter ranges over transport.All (Consume behind an iterator), counting
	// in the loop body.
	Iter Path = "iter"
	// Typed is Consume with a handler that decodes every sample into a
	// fixed-layout struct (event.Decoder.DecodeInto, event.Exec for
	// 532-byte samples).
	Typed Path = "typed"
	// Channel is transport.Records: one owned record per channel send.
	Channel Path = "channel"
	// ChannelBatch is transport.Batches with owned batches, released (so
	// recycled) as soon as counted.
	ChannelBatch Path = "channel-batch"
	// BatchCallback is ConsumeBatches with a handler that only counts.
	BatchCallback Path = "batch-callback"
	// ChannelBorrow is transport.Batches with borrowed batches
	// (ChannelOptions.Borrow), released as soon as counted.
	ChannelBorrow Path = "channel-borrow"
	// Libbpf is a C consumer using libbpf's ring_buffer__poll or
	// perf_buffer__poll through cgo; only in builds with the libbpf tag.
	Libbpf Path = "libbpf"
)

// Paths lists the pure-Go paths in the order reports show them.
var Paths = []Path{Raw, Callback, BatchCallback, Iter, Typed, Channel, ChannelBatch, ChannelBorrow}

// AllPaths adds Libbpf to Paths when this build has it.
func AllPaths() []Path {
	if HaveLibbpf {
		return append(append([]Path(nil), Paths...), Libbpf)
	}
	return Paths
}

// Config describes one measurement.
type Config struct {
	Producer producer.Config
	// Events is how many samples the producer emits.
	Events int
	// Buffer is the ring size (ringbuf; overrides Producer.RingSize) or the
	// per-CPU buffer size (perfbuf) in bytes. Zero: 256 KiB.
	Buffer int
	// ProducerCPU and ConsumerCPU pin the two sides. With Prefill the
	// consumer is not pinned (see Prefill).
	ProducerCPU, ConsumerCPU int
	// Prefill produces every sample before the consumer starts and sizes the
	// buffer to hold them all, so only the consumer's cost is timed. The
	// consumer then runs unpinned, as in an agent: nothing else runs, and
	// locking a channel path's receiver to a pinned thread would make every
	// hand-over between the stream's goroutine and the receiver a switch
	// of OS threads, which no agent pays. Result.CPU tells what a path that
	// runs on two goroutines costs in CPU time.
	Prefill bool
	// MaxDuration, when positive, stops the producer early (between chunks
	// of 4,096 samples) once it has run this long, so that slow
	// configurations (perf with a wake-up per sample) finish in bounded
	// time; rates are computed on what was produced.
	MaxDuration time.Duration
	// Coalesce is ringbuf.Options.Coalesce for bpfstream's paths on ring
	// buffers (the other paths and perfbuf ignore it).
	Coalesce time.Duration
	// Rate, when positive, paces the producer at that many samples per
	// second (see pace) and makes every path record each sample's delivery
	// latency: Result.Latencies. Prefill and MaxDuration do not apply.
	Rate int
}

// Result is the outcome of one measurement.
type Result struct {
	Delivered uint64
	Lost      uint64
	Elapsed   time.Duration
	// CPU is the process's CPU time (user and system, every thread)
	// while the consumer ran: what reading cost, also for a path that
	// keeps two CPUs busy. Meaningful with Prefill, when the producer has
	// finished before.
	CPU     time.Duration
	Mallocs uint64 // heap allocations made during the run, all goroutines
	// Wakeups is the consumer's Stats.Wakeups (bpfstream paths only).
	Wakeups uint64
	// Latencies are the delivery latencies of the records (Config.Rate
	// only): the producer's bpf_ktime_get_ns to the handler, in ns, in
	// arrival order.
	Latencies []uint64
}

// EventsPerSec is the delivered records per second.
func (r Result) EventsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

// CPUNsPerRecord is CPU in nanoseconds divided by the records delivered.
func (r Result) CPUNsPerRecord() float64 {
	if r.Delivered == 0 {
		return 0
	}
	return float64(r.CPU.Nanoseconds()) / float64(r.Delivered)
}

// AllocsPerRecord is Mallocs divided by the records delivered.
func (r Result) AllocsPerRecord() float64 {
	if r.Delivered == 0 {
		return 0
	}
	return float64(r.Mallocs) / float64(r.Delivered)
}

// reader is one path's consumer, opened on a loaded producer.
type reader interface {
	// run reads until the goal is met: goal.done() reports true.
	run(ctx context.Context, g *goal) error
	close() error
}

// goal tracks progress: the consumer counts delivered records; the producer
// side publishes how many to expect once it has finished.
type goal struct {
	delivered atomic.Uint64
	expected  atomic.Uint64 // max until known
	lat       *latencies    // nil unless Config.Rate is set
}

// reached reports whether a reader that counts locally has delivered enough,
// and publishes its count when it has. Readers count locally, like the libbpf
// path's C callback, so that no path pays an atomic read-modify-write per
// record for the harness; they also publish their count whenever they are
// about to wait, so the watcher can end a run whose expected count became
// known after the last record arrived.
func (g *goal) reached(n uint64) bool {
	if n >= g.expected.Load() {
		g.delivered.Store(n)
		return true
	}
	return false
}

func (g *goal) done() bool { return g.delivered.Load() >= g.expected.Load() }

var errGoal = errors.New("bench: goal reached")

// Measure runs one measurement of path.
func Measure(cfg Config, path Path) (Result, error) {
	if cfg.Buffer == 0 {
		cfg.Buffer = 256 << 10
	}
	if cfg.Prefill {
		cfg.Buffer = prefillSize(cfg)
	}
	pcfg := cfg.Producer
	if pcfg.Kind.Ringbuf() {
		pcfg.RingSize = cfg.Buffer
	}
	p, err := producer.Load(pcfg)
	if err != nil {
		return Result{}, err
	}
	defer p.Close()

	rd, err := open(path, p, cfg)
	if err != nil {
		return Result{}, err
	}
	defer rd.close()

	var g goal
	g.expected.Store(^uint64(0))
	if cfg.Rate > 0 {
		cfg.Prefill, cfg.MaxDuration = false, 0
		g.lat = newLatencies(cfg.Events)
		if lr, ok := rd.(latencyReader); ok {
			lr.recordLatencies(cfg.Events)
		}
	}
	produce := func() error {
		started := time.Now()
		if cfg.Rate > 0 {
			if err := pace(p, cfg); err != nil {
				return err
			}
		}
		for left := cfg.Events; left > 0 && cfg.Rate <= 0; {
			chunk := left
			if cfg.MaxDuration > 0 {
				chunk = min(left, 4096)
			}
			if err := p.Run(cfg.ProducerCPU, chunk); err != nil {
				return err
			}
			left -= chunk
			if cfg.MaxDuration > 0 && time.Since(started) > cfg.MaxDuration {
				break
			}
		}
		attempted, err := p.Attempted()
		if err != nil {
			return err
		}
		dropped, err := p.Dropped()
		if err != nil {
			return err
		}
		g.expected.Store(attempted - dropped)
		return nil
	}
	if cfg.Prefill {
		if err := produce(); err != nil {
			return Result{}, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore, err := processCPU()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()

	prodErr := make(chan error, 1)
	if !cfg.Prefill {
		go func() { prodErr <- produce() }()
	} else {
		prodErr <- nil
	}
	// Once the producer is done, wake a consumer that waits with nothing
	// left to read.
	stopWatch := make(chan struct{})
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(time.Millisecond):
			}
			if g.done() {
				cancel()
				return
			}
		}
	}()

	consume := func() error { return rd.run(ctx, &g) }
	var runErr error
	if cfg.Prefill {
		runErr = consume()
	} else {
		runErr = pinned(cfg.ConsumerCPU, consume)
	}
	elapsed := time.Since(start)
	cpuAfter, err := processCPU()
	if err != nil {
		return Result{}, err
	}
	runtime.ReadMemStats(&after)
	close(stopWatch)
	<-watchDone
	if err := <-prodErr; err != nil {
		return Result{}, err
	}
	if !g.done() {
		return Result{}, fmt.Errorf("bench: %s: %d of %d records: %w", path, g.delivered.Load(), g.expected.Load(), runErr)
	}
	dropped, err := p.Dropped()
	if err != nil {
		return Result{}, err
	}
	res := Result{
		Delivered: g.delivered.Load(),
		Lost:      dropped,
		Elapsed:   elapsed,
		CPU:       cpuAfter - cpuBefore,
		Mallocs:   after.Mallocs - before.Mallocs,
	}
	if s, ok := rd.(statser); ok {
		res.Wakeups = s.stats().Wakeups
	}
	if g.lat != nil {
		res.Latencies = g.lat.ns
		if lr, ok := rd.(latencyReader); ok {
			res.Latencies = lr.latencies()
		}
	}
	return res, nil
}

// prefillSize returns a power-of-two buffer that holds every sample.
func prefillSize(cfg Config) int {
	per := cfg.Producer.SampleSize
	if per == 0 {
		per = producer.HeaderSize
	}
	// The larger record of the two transports: perf's 8-byte header and
	// u32 size, with the sample padded to 8 bytes (a ringbuf record, 8-byte
	// header and padded sample, is never larger), plus a page of slack. The
	// producer's budget keeps a restarted test run from emitting more than
	// asked, so Events is exact.
	record := 8 + (per+4+7)&^7
	need := record*cfg.Events + 4096
	size := 4096
	for size < need {
		size <<= 1
	}
	return size
}

// processCPU returns the CPU time the process has used, all threads.
func processCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// pinned runs f on a thread pinned to cpu.
func pinned(cpu int, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: the runtime discards it with its
		// changed affinity when the goroutine exits.
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("bench: pin consumer to CPU %d: %w", cpu, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
