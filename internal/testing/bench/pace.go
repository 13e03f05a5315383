package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// pace produces cfg.Events samples at cfg.Rate per second, as a steady
// producer would: every millisecond a small test run of Rate/1000 samples
// (below 1,000/s, one sample every 1/Rate s). A tick the producer misses
// is skipped, so the rate may come out lower, never higher.
func pace(p *producer.Producer, cfg Config) error {
	interval, per := time.Millisecond, cfg.Rate/1000
	if per < 1 {
		interval, per = time.Second/time.Duration(cfg.Rate), 1
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for left := cfg.Events; left > 0; {
		<-t.C
		n := min(per, left)
		if err := p.Run(cfg.ProducerCPU, n); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// producerRun is what a paced producer reports: its thread's CPU time.
type producerRun struct {
	cpu time.Duration
	err error
}

// paceBursts emits cfg.events() records in bursts of cfg.Burst, one every
// Burst/Rate seconds, on a thread of its own pinned to cfg.ProducerCPU. It
// sleeps with clock_nanosleep to absolute deadlines, not with Go timers, so
// that no other thread (one of the consumer's) runs the producer's timers;
// a burst that is late goes out at once, so the rate holds on average.
func paceBursts(p *producer.Producer, cfg LiveConfig) producerRun {
	runtime.LockOSThread()
	// Not unlocked: the runtime discards the pinned thread when the
	// goroutine exits, so no consumer goroutine ever runs on it.
	if err := pinThread(cfg.ProducerCPU); err != nil {
		return producerRun{err: err}
	}
	// The default slack of 50 µs would shift bursts 64 µs apart.
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
	cpu0, err := threadCPU()
	if err != nil {
		return producerRun{err: err}
	}
	burst := max(cfg.Burst, 1)
	interval := time.Duration(float64(burst) / float64(cfg.Rate) * float64(time.Second))
	var start unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &start); err != nil {
		return producerRun{err: err}
	}
	for i, left := int64(0), cfg.events(); left > 0; i++ {
		deadline := unix.NsecToTimespec(start.Nano() + i*int64(interval))
		for {
			err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &deadline, nil)
			if err != unix.EINTR {
				break
			}
		}
		n := min(burst, left)
		if err := p.RunHere(cfg.ProducerCPU, n); err != nil {
			return producerRun{err: err}
		}
		left -= n
	}
	cpu1, err := threadCPU()
	if err != nil {
		return producerRun{err: err}
	}
	return producerRun{cpu: cpu1 - cpu0}
}

// discard empties the producer's rings, which a run without a consumer left
// full.
func discard(p *producer.Producer) error {
	for _, m := range rings(p) {
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			return fmt.Errorf("bench: discard: %w", err)
		}
		var rec ringbuf.Record
		for rd.AvailableBytes() > 0 {
			if err := rd.ReadInto(&rec); err != nil {
				rd.Close()
				return fmt.Errorf("bench: discard: %w", err)
			}
		}
		rd.Close()
	}
	return nil
}
