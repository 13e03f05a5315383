package ringbuf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"
	cilium "github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream/internal/core"
)

// Consumer reads one BPF ring buffer. It implements transport.Consumer.
type Consumer struct {
	lc       *core.Lifecycle
	counters *core.Counters
	rd       *cilium.Reader
	drops    *dropCounter
	src      source
}

// New returns a Consumer for m, which must be a BPF_MAP_TYPE_RINGBUF. The
// consumer does not take ownership of m: close it after the consumer.
func New(m *ebpf.Map, opts Options) (*Consumer, error) {
	if err := core.CheckMap("ringbuf", m, ebpf.RingBuf); err != nil {
		return nil, err
	}
	if opts.DrainInterval < 0 {
		return nil, fmt.Errorf("ringbuf: negative DrainInterval %s: %w", opts.DrainInterval, core.ErrInvalidOptions)
	}
	drops, err := newDropCounter(opts.DropCounter)
	if err != nil {
		return nil, err
	}
	rd, err := cilium.NewReader(m)
	if err != nil {
		return nil, fmt.Errorf("ringbuf: open reader: %w", core.WrapPermission(err, core.CapBPF))
	}
	c := &Consumer{
		lc:       core.NewLifecycle(),
		counters: core.NewCounters(0),
		rd:       rd,
		drops:    drops,
	}
	c.src = source{rd: rd, counters: c.counters, interval: opts.DrainInterval, needDeadline: true}
	return c, nil
}

// Consume implements transport.Consumer: it hands each record to h in commit
// order, with CPU -1. Record.Sample is valid only until h returns.
func (c *Consumer) Consume(ctx context.Context, h core.Handler) error {
	return core.Loop(ctx, "ringbuf", c.lc, &c.src, c.counters, h)
}

// Stats implements transport.Consumer.
func (c *Consumer) Stats() core.Stats {
	s := c.counters.Snapshot()
	s.BufferBytes = uint64(c.rd.BufferSize())
	c.lc.Do(func() { s.PendingBytes = uint64(c.rd.AvailableBytes()) })
	s.Lost, s.LostKnown = c.drops.sum()
	return s
}

// Kind implements transport.Consumer: KindRingbuf.
func (c *Consumer) Kind() core.Kind { return core.KindRingbuf }

// Done implements transport.Consumer.
func (c *Consumer) Done() <-chan struct{} { return c.lc.Done() }

// Close implements transport.Consumer. It releases the reader's mmap and
// epoll instance; the ring map and drop counter stay open.
func (c *Consumer) Close() error {
	if !c.lc.Close() {
		return nil
	}
	if err := c.rd.Close(); err != nil {
		return fmt.Errorf("ringbuf: close: %w", err)
	}
	return nil
}

// source adapts cilium/ebpf's reader to core.Loop.
type source struct {
	rd           *cilium.Reader
	rec          cilium.Record
	counters     *core.Counters
	interval     time.Duration
	needDeadline bool
}

func (s *source) Drain(emit func(core.Record) error) error {
	if s.interval > 0 && s.needDeadline {
		// The reader is not blocked (we are its only caller), so
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
			case errors.Is(err, cilium.ErrFlushed):
				return core.ErrWake
			case errors.Is(err, os.ErrClosed):
				return core.ErrClosed
			}
			return err
		}
		if err := emit(core.Record{Sample: s.rec.RawSample, CPU: core.NoCPU}); err != nil {
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
