package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// LiveConfig describes a live-rate measurement: a producer paced at a fixed
// rate in bursts, as a traced system emits events, and a consumer that keeps
// up. What counts is the consumer's CPU time per record and per wake-up.
type LiveConfig struct {
	// Config names the CPUs (ProducerCPU, ConsumerCPU), the ring size
	// (Buffer) and the bpfstream options (Coalesce, Ringbuf). The producer
	// is loaded by the caller (see LoadLive); Events, Prefill, MaxDuration
	// and Rate do not apply.
	Config
	// Rate is the records per second; Burst the records of one burst (one
	// test run of the program, every Burst/Rate seconds).
	Rate, Burst int
	// Duration is how long the producer runs.
	Duration time.Duration
}

// events is the number of records the producer emits.
func (c LiveConfig) events() int { return max(int(float64(c.Rate)*c.Duration.Seconds()), 1) }

// LiveResult is the outcome of one live-rate measurement.
type LiveResult struct {
	Delivered, Lost uint64
	Elapsed         time.Duration
	// ConsumerCPU is the process's CPU time (getrusage RUSAGE_SELF) minus
	// the producer thread's (RUSAGE_THREAD, read by the producer on its own
	// locked thread), over the run: the consumer's goroutines, the Go
	// runtime and the harness's idle parts. MeasureIdle measures the last
	// two alone.
	ConsumerCPU time.Duration
	// ProducerCPU is the producer thread's CPU time, test runs included.
	ProducerCPU time.Duration
	// Wakeups is the consumer's count of wake-ups (see waker).
	Wakeups uint64
}

// NsPerRecord is ConsumerCPU per record delivered, less idle, the CPU time
// per second the process spends with no consumer (MeasureIdle; 0 to
// subtract nothing).
func (r LiveResult) NsPerRecord(idle float64) float64 {
	if r.Delivered == 0 {
		return 0
	}
	return r.net(idle) / float64(r.Delivered)
}

// NsPerWakeup is ConsumerCPU, less idle, per wake-up.
func (r LiveResult) NsPerWakeup(idle float64) float64 {
	if r.Wakeups == 0 {
		return 0
	}
	return r.net(idle) / float64(r.Wakeups)
}

func (r LiveResult) net(idle float64) float64 {
	return max(float64(r.ConsumerCPU.Nanoseconds())-idle*r.Elapsed.Seconds(), 0)
}

// LoadLive loads a RingbufOutput producer with rings ring buffers of buffer
// bytes (a single ring for 1), busy of them receiving records (0: all).
func LoadLive(sampleSize, rings, busy, buffer int) (*producer.Producer, error) {
	cfg := producer.Config{Kind: producer.RingbufOutput, SampleSize: sampleSize, RingSize: buffer}
	if rings > 1 {
		cfg.Rings, cfg.BusyRings = rings, busy
	}
	return producer.Load(cfg)
}

// MeasureLive runs path on p, a producer from LoadLive that readers before
// left empty, for one live-rate measurement. Every thread of the process but
// the producer's runs on cfg.ConsumerCPU meanwhile, so that a path with
// several goroutines (the channel paths, raw on several rings) is held to
// one CPU too.
func MeasureLive(p *producer.Producer, cfg LiveConfig, path Path) (LiveResult, error) {
	cfg.Config = cfg.Config.withLiveDefaults(p)
	rd, err := open(path, p, cfg.Config)
	if err != nil {
		return LiveResult{}, err
	}
	defer rd.close()
	res, err := runLive(p, cfg, rd)
	if err != nil {
		return LiveResult{}, fmt.Errorf("bench: live %s: %w", path, err)
	}
	return res, nil
}

// MeasureIdle runs the producer of MeasureLive with no consumer and returns
// the process's CPU time beside the producer thread's per second of it: what
// MeasureLive counts that is not the consumer's. It empties the rings after.
func MeasureIdle(p *producer.Producer, cfg LiveConfig) (float64, error) {
	cfg.Config = cfg.Config.withLiveDefaults(p)
	res, err := runLive(p, cfg, nil)
	if err != nil {
		return 0, fmt.Errorf("bench: live idle: %w", err)
	}
	return float64(res.ConsumerCPU.Nanoseconds()) / res.Elapsed.Seconds(), discard(p)
}

func (cfg Config) withLiveDefaults(p *producer.Producer) Config {
	cfg.Producer = p.Config()
	cfg.Buffer = cfg.Producer.RingSize
	cfg.Events, cfg.Prefill, cfg.MaxDuration, cfg.Rate = 0, false, 0, 0
	return cfg
}

// runLive runs the paced producer and rd (none when nil) until rd has every
// record.
func runLive(p *producer.Producer, cfg LiveConfig, rd reader) (LiveResult, error) {
	restore, err := pinProcess(cfg.ConsumerCPU)
	if err != nil {
		return LiveResult{}, err
	}
	defer restore()
	attempted0, err := p.Attempted()
	if err != nil {
		return LiveResult{}, err
	}
	dropped0, err := p.Dropped()
	if err != nil {
		return LiveResult{}, err
	}
	g := newGoal()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration+time.Minute)
	defer cancel()

	before, err := takeUsage()
	if err != nil {
		return LiveResult{}, err
	}
	prod := make(chan producerRun, 1)
	go func() { prod <- paceBursts(p, cfg) }()
	// The watcher starts once the producer is done: polling all along
	// would be CPU time of the consumer's side.
	finished := make(chan error, 1)
	go func() {
		pr := <-prod
		prod <- pr
		if pr.err == nil {
			pr.err = expect(p, g, attempted0, dropped0)
		}
		if pr.err != nil || rd == nil {
			cancel()
		} else {
			stop := watch(g, cancel)
			<-ctx.Done()
			stop()
		}
		finished <- pr.err
	}()
	var runErr error
	if rd != nil {
		runErr = pinned(cfg.ConsumerCPU, func() error { return rd.run(ctx, g) })
	} else {
		<-ctx.Done()
	}
	after, err := takeUsage()
	cancel() // a consumer that failed leaves the watcher waiting
	if err != nil {
		return LiveResult{}, err
	}
	if err := <-finished; err != nil {
		return LiveResult{}, err
	}
	pr := <-prod
	if rd != nil && !g.done() {
		return LiveResult{}, fmt.Errorf("%d of %d records: %w", g.delivered.Load(), g.expected.Load(), runErr)
	}
	dropped, err := p.Dropped()
	if err != nil {
		return LiveResult{}, err
	}
	u := after.sub(before)
	res := LiveResult{
		Delivered:   g.delivered.Load(),
		Lost:        dropped - dropped0,
		Elapsed:     u.elapsed,
		ConsumerCPU: u.cpu - pr.cpu,
		ProducerCPU: pr.cpu,
	}
	if w, ok := rd.(waker); ok {
		res.Wakeups = w.wakeupCount()
	}
	return res, nil
}

// LivePaths lists the paths the live mode measures by default: the baseline,
// bpfstream's callback, batch callback and borrowed batches, and libbpf when
// this build has it.
func LivePaths() []Path {
	ps := []Path{Raw, Callback, BatchCallback, ChannelBorrow}
	if HaveLibbpf {
		ps = append(ps, Libbpf)
	}
	return ps
}
