package ringbuf

import (
	"context"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
	"github.com/bpfstream/bpfstream/transport"
)

func recordSource(r transport.Record) int { return int(r.Source) }

// Consumer reads one BPF ring buffer. It implements transport.Consumer.
type Consumer struct {
	g     *glue.Consumer
	drops *dropCounter
	rd    backend
	owned []*ebpf.Map // inner maps opened by NewArrayOfMaps
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

// New returns a Consumer for m, which must be a BPF_MAP_TYPE_RINGBUF without
// BPF_F_RB_OVERWRITE (an overwrite-mode ring is refused with an error
// matching transport.ErrMapType: its producer may overwrite a record while
// it is being read). The consumer does not take ownership of m: close it
// after the consumer.
//
// Closing a consumer while its Consume is still handing a record over, and
// opening a new consumer on the same ring, is safe: the new consumer waits
// until the old one has stopped and published its position (up to 5 s, then
// it fails with an error matching transport.ErrBusy), so no record is handed
// over twice.
func New(m *ebpf.Map, opts Options) (*Consumer, error) {
	if err := core.CheckMap("ringbuf", m, ebpf.RingBuf); err != nil {
		return nil, err
	}
	return open([]*ebpf.Map{m}, opts)
}

// open builds a consumer for maps, already checked to be ring buffers. A
// ring that maps holds more than once is read once.
func open(maps []*ebpf.Map, opts Options) (*Consumer, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rings, err := distinctRings(maps)
	if err != nil {
		return nil, err
	}
	drops, err := newDropCounter(opts.DropCounter)
	if err != nil {
		return nil, err
	}
	counters := core.NewCounters(0)
	var rd backend
	switch {
	case opts.Backend == BackendNative && opts.Shards > 1 && len(rings) > 1:
		rd, err = newShardedBackend(rings, opts.Shards, opts, counters)
	case opts.Backend == BackendNative:
		rd, err = newNativeBackend(rings, opts, counters)
	case len(rings) == 1:
		rd, err = newCiliumBackend(rings[0].m, opts, counters)
	default:
		return nil, fmt.Errorf("ringbuf: open %d rings with BackendCilium: only BackendNative reads several rings; leave Backend unset: %w", len(rings), transport.ErrInvalidOptions)
	}
	if err != nil {
		return nil, fmt.Errorf("ringbuf: open reader: %w", core.WrapPermission(err, core.CapBPF))
	}
	stage := glue.Stage{Options: opts.Reorder, Streams: len(rings), Key: recordSource}
	return &Consumer{g: glue.New("ringbuf", rd, counters, stage), rd: rd, drops: drops}, nil
}

// Consume implements transport.Consumer: it hands each record to h in commit
// order, with CPU -1. Record.Sample is valid only until h returns.
//
// With Options.Reorder (several rings), records pass through the
// re-ordering stage first and own their bytes.
func (c *Consumer) Consume(ctx context.Context, h transport.Handler) error {
	return c.g.Consume(ctx, h)
}

// ConsumeBatches implements transport.Consumer. The native reader hands h
// up to 256 consecutive records of one buffer per call, read in place; the
// cilium/ebpf reader and a re-ordering stage hand over one record per call.
func (c *Consumer) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	return c.g.ConsumeBatches(ctx, h)
}

// ConsumeTo implements [transport.ConsumerTo]. The native reader lends its
// batches to a receiver that borrows them; the cilium/ebpf reader and a
// re-ordering stage hand over one record per call and lend nothing.
func (c *Consumer) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	return c.g.ConsumeTo(ctx, r)
}

// Stats implements transport.Consumer.
func (c *Consumer) Stats() transport.Stats {
	s := c.g.Snapshot()
	s.BufferBytes = uint64(c.rd.size())
	c.g.WhileOpen(func() { s.PendingBytes = uint64(c.rd.pending()) })
	// The counters' Lost holds only records a re-ordering stage held
	// when the consumer closed; the program's drop counter has the rest.
	lost, known := c.drops.sum()
	s.Lost += lost
	s.LostKnown = known
	return s
}

// Kind implements transport.Consumer: KindRingbuf.
func (c *Consumer) Kind() transport.Kind { return transport.KindRingbuf }

// Done implements transport.Consumer.
func (c *Consumer) Done() <-chan struct{} { return c.g.Done() }

// Close implements transport.Consumer. It releases the reader's mmap and
// epoll instance; the ring map and drop counter stay open.
func (c *Consumer) Close() error {
	return c.g.Close(func() error {
		err := c.rd.close()
		c.drops.freeze()
		for _, m := range c.owned {
			err = errors.Join(err, m.Close())
		}
		return err
	})
}
