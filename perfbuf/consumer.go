package perfbuf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"

	"github.com/bpfstream/bpfstream/internal/core"
)

// Consumer reads one perf event array. It implements transport.Consumer.
type Consumer struct {
	lc          *core.Lifecycle
	counters    *core.Counters
	rd          *perf.Reader
	bufferBytes uint64
	src         source
}

// New returns a Consumer for m, which must be a BPF_MAP_TYPE_PERF_EVENT_ARRAY.
// It creates one buffer per online CPU and installs them in m. The consumer
// does not take ownership of m.
func New(m *ebpf.Map, opts Options) (*Consumer, error) {
	if err := core.CheckMap("perfbuf", m, ebpf.PerfEventArray); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rd, err := perf.NewReaderWithOptions(m, opts.PerCPUBytes, perf.ReaderOptions{
		WakeupEvents: opts.WakeupEvents,
		Watermark:    opts.WakeupBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("perfbuf: open reader: %w", core.WrapPermission(err, core.CapPerfmon))
	}
	nCPU := int(m.MaxEntries())
	c := &Consumer{
		lc:          core.NewLifecycle(),
		counters:    core.NewCounters(nCPU),
		rd:          rd,
		bufferBytes: uint64(rd.BufferSize()) * uint64(onlineCPUs(nCPU)),
	}
	c.src = source{rd: rd, counters: c.counters, interval: opts.DrainInterval, needDeadline: true, onLost: opts.OnLost}
	return c, nil
}

// Consume implements transport.Consumer. Record.CPU is the CPU whose buffer
// held the sample; Record.Sample is valid only until h returns.
func (c *Consumer) Consume(ctx context.Context, h core.Handler) error {
	return core.Loop(ctx, "perfbuf", c.lc, &c.src, c.counters, h)
}

// Stats implements transport.Consumer. Lost and LostPerCPU are the kernel's
// counts, so LostKnown is always true.
func (c *Consumer) Stats() core.Stats {
	s := c.counters.Snapshot()
	s.LostKnown = true
	s.BufferBytes = c.bufferBytes
	return s
}

// Kind implements transport.Consumer: KindPerfbuf.
func (c *Consumer) Kind() core.Kind { return core.KindPerfbuf }

// Done implements transport.Consumer.
func (c *Consumer) Done() <-chan struct{} { return c.lc.Done() }

// Close implements transport.Consumer. It removes the buffers from the map
// (BPF writes then fail) and releases them; the map stays open.
func (c *Consumer) Close() error {
	if !c.lc.Close() {
		return nil
	}
	if err := c.rd.Close(); err != nil {
		return fmt.Errorf("perfbuf: close: %w", err)
	}
	return nil
}

// source adapts cilium/ebpf's perf reader to core.Loop.
type source struct {
	rd           *perf.Reader
	rec          perf.Record
	counters     *core.Counters
	interval     time.Duration
	needDeadline bool
	onLost       func(cpu int, n uint64)
}

func (s *source) Drain(emit func(core.Record) error) error {
	if s.interval > 0 && s.needDeadline {
		// We are the reader's only caller, so it is not blocked and
		// SetDeadline does not wait for its lock.
		s.rd.SetDeadline(time.Now().Add(s.interval))
		s.needDeadline = false
	}
	for first := true; ; first = false {
		if err := s.rd.ReadInto(&s.rec); err != nil {
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				s.needDeadline = true
				return core.ErrWake
			case errors.Is(err, perf.ErrFlushed):
				return core.ErrWake
			case errors.Is(err, os.ErrClosed):
				return core.ErrClosed
			}
			return err
		}
		if s.rec.LostSamples > 0 {
			s.counters.AddLost(s.rec.CPU, s.rec.LostSamples)
			if s.onLost != nil {
				s.onLost(s.rec.CPU, s.rec.LostSamples)
			}
		} else if err := emit(core.Record{Sample: s.rec.RawSample, CPU: s.rec.CPU}); err != nil {
			return err
		}
		if first {
			s.counters.Wakeups.Add(1)
		}
		if s.rec.Remaining == 0 {
			return nil
		}
	}
}

func (s *source) Interrupt() { _ = s.rd.Flush() }
