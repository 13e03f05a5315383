package ringbuf

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
)

// Consumer reads one BPF ring buffer. It implements transport.Consumer.
type Consumer struct {
	lc       *core.Lifecycle
	counters *core.Counters
	drops    *dropCounter
	rd       backend
}

// backend is a ring reader plugged into the shared consume loop.
type backend interface {
	core.Source
	// size is the ring's data size in bytes.
	size() int
	// pending is the number of bytes waiting; only called while open.
	pending() int
	close() error
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
	counters := core.NewCounters(0)
	var rd backend
	switch opts.Reader {
	case ReaderNative:
		rd, err = newNativeBackend([]*ebpf.Map{m}, opts, counters)
	case ReaderCilium:
		rd, err = newCiliumBackend(m, opts, counters)
	default:
		return nil, fmt.Errorf("ringbuf: unknown Reader %d: %w", opts.Reader, core.ErrInvalidOptions)
	}
	if err != nil {
		return nil, fmt.Errorf("ringbuf: open reader: %w", core.WrapPermission(err, core.CapBPF))
	}
	return &Consumer{
		lc:       core.NewLifecycle(),
		counters: counters,
		rd:       rd,
		drops:    drops,
	}, nil
}

// Consume implements transport.Consumer: it hands each record to h in commit
// order, with CPU -1. Record.Sample is valid only until h returns.
func (c *Consumer) Consume(ctx context.Context, h core.Handler) error {
	return core.Loop(ctx, "ringbuf", c.lc, c.rd, c.counters, h)
}

// Stats implements transport.Consumer.
func (c *Consumer) Stats() core.Stats {
	s := c.counters.Snapshot()
	s.BufferBytes = uint64(c.rd.size())
	c.lc.Do(func() { s.PendingBytes = uint64(c.rd.pending()) })
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
	if err := c.rd.close(); err != nil {
		return fmt.Errorf("ringbuf: close: %w", err)
	}
	return nil
}
