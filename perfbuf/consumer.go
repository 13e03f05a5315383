package perfbuf

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
	"github.com/bpfstream/bpfstream/transport"
)

// Consumer reads one perf event array. It implements [transport.Consumer].
type Consumer struct {
	g  *glue.Consumer
	rd backend
}

// backend is a perf buffer reader plugged into the shared consume loop.
type backend interface {
	core.Source
	// bufferBytes is the memory of all per-CPU buffers.
	bufferBytes() int
	// lostKnown reports whether the counters hold every loss.
	lostKnown() bool
	close() error
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
	cpus := onlineCPUs(core.ReadOnline(), int(m.MaxEntries()))
	counters := core.NewCounters(cpuSlots(cpus))
	var rd backend
	switch {
	case opts.Backend == BackendNative && opts.Shards > 1 && len(cpus) > 1:
		rd, err = newShardedBackend(m, cpus, opts, counters)
	case opts.Backend == BackendNative:
		rd, err = newNativeBackend(m, nil, opts, counters)
	default:
		rd, err = newCiliumBackend(m, cpus, opts, counters)
	}
	if err != nil {
		return nil, fmt.Errorf("perfbuf: open reader: %w", core.WrapPermission(err, core.CapPerfmon))
	}
	stage := glue.Stage{Options: opts.Reorder, Streams: len(cpus), Key: recordCPU}
	return &Consumer{g: glue.New("perfbuf", rd, counters, stage), rd: rd}, nil
}

// Consume implements [transport.Consumer]. Record.CPU is the CPU whose buffer
// held the sample; Record.Sample is valid only until h returns.
//
// With Options.Reorder, records pass through the re-ordering stage first and
// own their bytes.
func (c *Consumer) Consume(ctx context.Context, h transport.Handler) error {
	return c.g.Consume(ctx, h)
}

// ConsumeBatches implements [transport.Consumer]. The native reader hands h
// up to 256 consecutive records of one CPU's buffer per call, read in place
// (a record that wraps around the buffer's end is copied first); the
// cilium/ebpf reader and a re-ordering stage hand over one record per call.
func (c *Consumer) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	return c.g.ConsumeBatches(ctx, h)
}

// ConsumeTo implements [transport.ConsumerTo]. The native reader lends each
// CPU's batches to a receiver that borrows them (the kernel reuses that
// CPU's space once they are released); the cilium/ebpf reader and a
// re-ordering stage hand over one record per call and lend nothing.
func (c *Consumer) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	return c.g.ConsumeTo(ctx, r)
}

func recordCPU(r transport.Record) int { return int(r.CPU) }

// Stats implements [transport.Consumer]. Lost and LostPerCPU are the kernel's
// counts, so LostKnown is true, except after Close where the losses still
// pending then cannot be known (see the package doc). LostPerCPU has one entry per CPU
// up to the last online one (not one per slot of the map). BufferBytes is 0 once the
// consumer is closed: its buffers are released.
func (c *Consumer) Stats() transport.Stats {
	s := c.g.Snapshot()
	s.LostKnown = c.rd.lostKnown()
	c.g.WhileOpen(func() { s.BufferBytes = uint64(c.rd.bufferBytes()) })
	return s
}

// Kind implements [transport.Consumer]: KindPerfbuf.
func (c *Consumer) Kind() transport.Kind { return transport.KindPerfbuf }

// Done implements [transport.Consumer].
func (c *Consumer) Done() <-chan struct{} { return c.g.Done() }

// Close implements [transport.Consumer]. It removes the buffers it installed
// from the map (BPF writes then fail with ENOENT; see the package doc for
// consumers sharing a map) and releases them; the map stays open.
func (c *Consumer) Close() error { return c.g.Close(c.rd.close) }
