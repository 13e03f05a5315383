// Package bench measures consumer paths side by side on the in-kernel test
// producer: a hand-written cilium/ebpf ReadInto loop (the baseline) and
// bpfstream's callback, channel and batched channel paths. Go benchmarks and
// the examples/bench command share it, so they measure the same thing.
//
// Measure runs a path flat out, or at a fixed rate for delivery latency;
// MeasureLive runs it at a fixed rate in bursts, on one ring or many, for the
// consumer's CPU time per record; MeasureMemory reports what a consumer on
// many rings holds.
package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	bpfring "github.com/bpfstream/bpfstream/ringbuf"
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
	// Ringbuf, when set, adjusts the ringbuf.Options of bpfstream's paths
	// on ring buffers (after DrainInterval and Coalesce are set): how a
	// variant of a path with an option of its own is measured.
	Ringbuf func(*bpfring.Options)
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
	// Wakeups is the consumer's Stats.Wakeups for bpfstream paths, and a
	// count of its own for raw and libbpf (see waker).
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

// Measure runs one measurement of path on a freshly loaded producer.
func Measure(cfg Config, path Path) (Result, error) {
	cfg = cfg.withDefaults()
	p, err := producer.Load(cfg.producerConfig())
	if err != nil {
		return Result{}, err
	}
	defer p.Close()
	rd, err := open(path, p, cfg)
	if err != nil {
		return Result{}, err
	}
	defer rd.close()

	g := newGoal()
	if cfg.Rate > 0 {
		g.lat = newLatencies(cfg.Events)
		if lr, ok := rd.(latencyReader); ok {
			lr.recordLatencies(cfg.Events)
		}
	}
	if cfg.Prefill {
		if err := produce(p, cfg, g); err != nil {
			return Result{}, err
		}
	}
	res, err := consumeOnce(p, rd, cfg, g)
	if err != nil {
		return Result{}, fmt.Errorf("bench: %s: %w", path, err)
	}
	if g.lat != nil {
		res.Latencies = g.lat.ns
		if lr, ok := rd.(latencyReader); ok {
			res.Latencies = lr.latencies()
		}
	}
	return res, nil
}

// withDefaults fills the buffer size in and drops what Rate excludes.
func (cfg Config) withDefaults() Config {
	if cfg.Buffer == 0 {
		cfg.Buffer = 256 << 10
	}
	if cfg.Rate > 0 {
		cfg.Prefill, cfg.MaxDuration = false, 0
	}
	if cfg.Prefill {
		cfg.Buffer = prefillSize(cfg)
	}
	return cfg
}

// producerConfig is the producer's configuration, sized to the buffer.
func (cfg Config) producerConfig() producer.Config {
	pcfg := cfg.Producer
	if pcfg.Kind.Ringbuf() {
		pcfg.RingSize = cfg.Buffer
	}
	return pcfg
}

// consumeOnce runs the consumer (and, unless the buffer is prefilled, the
// producer beside it) until every record produced was delivered.
func consumeOnce(p *producer.Producer, rd reader, cfg Config, g *goal) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, err := takeUsage()
	if err != nil {
		return Result{}, err
	}
	prodErr := make(chan error, 1)
	if cfg.Prefill {
		prodErr <- nil
	} else {
		go func() { prodErr <- produce(p, cfg, g) }()
	}
	stopWatch := watch(g, cancel)
	consume := func() error { return rd.run(ctx, g) }
	var runErr error
	if cfg.Prefill {
		runErr = consume()
	} else {
		runErr = pinned(cfg.ConsumerCPU, consume)
	}
	after, err := takeUsage()
	if err != nil {
		return Result{}, err
	}
	stopWatch()
	if err := <-prodErr; err != nil {
		return Result{}, err
	}
	if !g.done() {
		return Result{}, fmt.Errorf("%d of %d records: %w", g.delivered.Load(), g.expected.Load(), runErr)
	}
	dropped, err := p.Dropped()
	if err != nil {
		return Result{}, err
	}
	res := Result{Delivered: g.delivered.Load(), Lost: dropped}
	after.sub(before).fill(&res)
	if w, ok := rd.(waker); ok {
		res.Wakeups = w.wakeupCount()
	}
	return res, nil
}

// produce emits cfg.Events samples (paced at cfg.Rate, or as fast as it can
// until cfg.MaxDuration) and then publishes how many records to expect.
func produce(p *producer.Producer, cfg Config, g *goal) error {
	if cfg.Rate > 0 {
		if err := pace(p, cfg); err != nil {
			return err
		}
		return expect(p, g, 0, 0)
	}
	started := time.Now()
	for left := cfg.Events; left > 0; {
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
	return expect(p, g, 0, 0)
}

// expect publishes the records to expect: those the producer attempted and
// did not drop since it had attempted attempted0 and dropped dropped0.
func expect(p *producer.Producer, g *goal, attempted0, dropped0 uint64) error {
	attempted, err := p.Attempted()
	if err != nil {
		return err
	}
	dropped, err := p.Dropped()
	if err != nil {
		return err
	}
	g.expected.Store((attempted - attempted0) - (dropped - dropped0))
	return nil
}

// watch cancels the run once the goal is done, to wake a consumer that waits
// with nothing left to read; the returned function stops watching.
func watch(g *goal, cancel func()) (stop func()) {
	stopc := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stopc:
				return
			case <-time.After(time.Millisecond):
			}
			if g.done() {
				cancel()
				return
			}
		}
	}()
	return func() { close(stopc); <-done }
}

// usage is what a measurement costs the process: time, CPU, allocations.
type usage struct {
	at      time.Time
	elapsed time.Duration
	cpu     time.Duration
	mallocs uint64
}

func takeUsage() (usage, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu, err := processCPU()
	return usage{at: time.Now(), cpu: cpu, mallocs: ms.Mallocs}, err
}

// takeCPU is takeUsage without the allocations, whose reading stops the
// world.
func takeCPU() (usage, error) {
	cpu, err := processCPU()
	return usage{at: time.Now(), cpu: cpu}, err
}

// sub is the usage between before and u.
func (u usage) sub(before usage) usage {
	return usage{elapsed: u.at.Sub(before.at), cpu: u.cpu - before.cpu, mallocs: u.mallocs - before.mallocs}
}

func (u usage) fill(res *Result) {
	res.Elapsed, res.CPU, res.Mallocs = u.elapsed, u.cpu, u.mallocs
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
