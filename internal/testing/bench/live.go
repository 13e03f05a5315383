package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// LiveConfig describes a live-rate measurement: a producer paced at a fixed
// rate in bursts, as a traced system emits events, and a consumer that keeps
// up. What counts is the consumer's CPU time per record and per wake-up.
type LiveConfig struct {
	// Config names the CPUs (ProducerCPU, ConsumerCPU) and the bpfstream
	// options (Coalesce, Ringbuf). The producer, which the caller loads
	// (LoadLive), sets the rings and their size; Events, Buffer, Prefill,
	// MaxDuration and Rate do not apply.
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
	// ConsumerCPU is the process's CPU time (getrusage RUSAGE_SELF) over
	// the run: the consumer's goroutines, the Go runtime and the harness's
	// waiting goroutines (the producer runs in a process of its own).
	// MeasureIdle measures the last two alone.
	ConsumerCPU time.Duration
	// ThreadCPU is the CPU time of the consumer's own thread over the same
	// window, where the path reads and hands over every record on the
	// one thread it was started on (callback, batch-callback, libbpf;
	// ThreadPath): the reader alone, without the Go runtime's other
	// threads and the harness, and so without MeasureIdle's noise. 0 for
	// the other paths.
	ThreadCPU time.Duration
	// ProducerCPU is the producer process's CPU time, test runs included.
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

// ThreadNsPerRecord is ThreadCPU per record delivered; 0 when not measured.
func (r LiveResult) ThreadNsPerRecord() float64 {
	if r.Delivered == 0 {
		return 0
	}
	return float64(r.ThreadCPU.Nanoseconds()) / float64(r.Delivered)
}

// ProducerNsPerRecord is ProducerCPU per record the producer was asked to
// emit (delivered or lost): what the traced side paid, wake-ups included.
func (r LiveResult) ProducerNsPerRecord() float64 {
	if n := r.Delivered + r.Lost; n > 0 {
		return float64(r.ProducerCPU.Nanoseconds()) / float64(n)
	}
	return 0
}

// ThreadPath reports whether path reads every record on the thread it was
// started on, so that LiveResult.ThreadCPU is its whole cost (the channel
// paths read on a goroutine of their own, raw on one per ring).
func ThreadPath(path Path) bool {
	return path == Callback || path == BatchCallback || path == Libbpf
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
// left empty, for one live-rate measurement. The producer runs paced in a
// process of its own (see RunProducerChild) pinned to cfg.ProducerCPU; every
// thread of this process runs on cfg.ConsumerCPU meanwhile, so that a path
// with several goroutines (the channel paths, raw on several rings) is held
// to one CPU too.
func MeasureLive(p *producer.Producer, cfg LiveConfig, path Path) (LiveResult, error) {
	cfg.Config = cfg.Config.withLiveDefaults(p)
	rd, err := open(path, p, cfg.Config)
	if err != nil {
		return LiveResult{}, err
	}
	defer rd.close()
	res, err := runLive(p, cfg, rd, ThreadPath(path))
	if err != nil {
		return LiveResult{}, fmt.Errorf("bench: live %s: %w", path, err)
	}
	return res, nil
}

// MeasureIdle runs the producer of MeasureLive with no consumer and returns
// this process's CPU time per second of it: what MeasureLive counts that is
// not the consumer's. It empties the rings after.
func MeasureIdle(p *producer.Producer, cfg LiveConfig) (float64, error) {
	cfg.Config = cfg.Config.withLiveDefaults(p)
	res, err := runLive(p, cfg, nil, false)
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

// settleTime is how long the consumer runs before the producer starts, so
// that its start (goroutines, the first wait) is not in the measurement.
const settleTime = 20 * time.Millisecond

// runLive runs the paced producer and rd (none when nil) until rd has every
// record. The CPU time is taken from the producer's start to the moment the
// watcher sees the last record delivered: the consumer's start and end are
// outside. With thread set, it also takes the CPU time of the consumer's
// thread over the same window.
func runLive(p *producer.Producer, cfg LiveConfig, rd reader, thread bool) (LiveResult, error) {
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
	child, err := startProducer(p, cfg)
	if err != nil {
		return LiveResult{}, err
	}
	g := newGoal()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration+time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	var tid atomic.Int32
	// The consumer's thread ends with its goroutine (it is locked, and
	// discarded): it waits until its CPU time has been taken.
	measured := make(chan struct{})
	release := sync.OnceFunc(func() { close(measured) })
	defer release()
	if rd != nil {
		go func() {
			if !thread {
				// Not locked to a thread: a receiver locked to its
				// thread would make every hand-over between it and
				// the stream's goroutine two thread switches with
				// GOMAXPROCS 1, which agents do not pay. The process
				// is pinned already (pinProcess).
				ran <- rd.run(ctx, g)
				return
			}
			ran <- pinned(cfg.ConsumerCPU, func() error {
				tid.Store(int32(unix.Gettid()))
				err := rd.run(ctx, g)
				<-measured
				return err
			})
		}()
	} else {
		ran <- nil
	}
	time.Sleep(settleTime)

	m := &liveMeasure{p: p, g: g, child: child, wait: rd != nil, tid: tid.Load(), attempted0: attempted0, dropped0: dropped0}
	if err := m.start(); err != nil {
		cancel()
		release()
		<-ran
		return LiveResult{}, err
	}
	err = m.finish(cancel)
	cancel() // the consumer ends here, if the watcher has not ended it
	release()
	runErr := <-ran
	if err != nil {
		return LiveResult{}, err
	}
	if !g.done() && rd != nil {
		return LiveResult{}, fmt.Errorf("%d of %d records: %w", g.delivered.Load(), g.expected.Load(), runErr)
	}
	dropped, err := p.Dropped()
	if err != nil {
		return LiveResult{}, err
	}
	u := m.after.sub(m.before)
	res := LiveResult{
		Delivered:   g.delivered.Load(),
		Lost:        dropped - dropped0,
		Elapsed:     u.elapsed,
		ConsumerCPU: u.cpu,
		ThreadCPU:   m.threadAfter - m.threadBefore,
		ProducerCPU: m.producerCPU,
	}
	if w, ok := rd.(waker); ok {
		res.Wakeups = w.wakeupCount()
	}
	return res, nil
}

// liveMeasure is one live run's measurement window: from the producer's
// start to the last record's delivery.
type liveMeasure struct {
	p                    *producer.Producer
	g                    *goal
	child                *childProducer
	wait                 bool  // for the consumer to deliver every record
	tid                  int32 // the consumer's thread, 0: not measured
	attempted0, dropped0 uint64
	before, after        usage
	// threadBefore and threadAfter are the consumer thread's CPU time.
	threadBefore, threadAfter time.Duration
	producerCPU               time.Duration
}

func (m *liveMeasure) start() error {
	var err error
	if m.before, err = takeCPU(); err == nil {
		m.threadBefore, err = threadCPU(m.tid)
	}
	if err != nil {
		m.child.kill()
		return err
	}
	return m.child.start()
}

// finish waits for the producer, then (polling only from then on, so that
// the polls cost next to nothing) for the consumer to deliver every record,
// and takes the usage at that moment.
func (m *liveMeasure) finish(cancel func()) error {
	var err error
	if m.producerCPU, err = m.child.wait(); err != nil {
		return err
	}
	if err := expect(m.p, m.g, m.attempted0, m.dropped0); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for m.wait && !m.g.done() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if m.after, err = takeCPU(); err != nil {
		return err
	}
	m.threadAfter, err = threadCPU(m.tid)
	return err
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
