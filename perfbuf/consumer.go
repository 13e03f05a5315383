package perfbuf

import (
	"context"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/reorder"
	"github.com/bpfstream/bpfstream/transport"
)

// Consumer reads one perf event array. It implements transport.Consumer.
type Consumer struct {
	lc       *core.Lifecycle
	counters *core.Counters
	rd       backend
	hold     *reorder.Holder // nil without Options.Reorder
}

// backend is a perf buffer reader plugged into the shared consume loop.
type backend interface {
	core.Source
	// bufferBytes is the memory of all per-CPU buffers.
	bufferBytes() int
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
	counters := core.NewCounters(cpuSlots(core.ReadOnline(), int(m.MaxEntries())))
	var rd backend
	switch opts.Backend {
	case BackendNative:
		rd, err = newNativeBackend(m, opts, counters)
	default:
		rd, err = newCiliumBackend(m, opts, counters)
	}
	if err != nil {
		return nil, fmt.Errorf("perfbuf: open reader: %w", core.WrapPermission(err, core.CapPerfmon))
	}
	c := &Consumer{lc: core.NewLifecycle(), counters: counters, rd: rd}
	if opts.Reorder != nil {
		stage := reorder.New(opts.Reorder.Timestamp, opts.Reorder.Window, onlineCPUs(int(m.MaxEntries())))
		c.hold = reorder.NewHolder(stage, recordCPU, counters)
	}
	return c, nil
}

// Consume implements transport.Consumer. Record.CPU is the CPU whose buffer
// held the sample; Record.Sample is valid only until h returns.
//
// With Options.Reorder, records pass through the re-ordering stage first and
// own their bytes.
func (c *Consumer) Consume(ctx context.Context, h transport.Handler) error {
	if c.hold != nil {
		return c.hold.Consume(ctx, "perfbuf", h, c.loop)
	}
	return c.loop(ctx, h, c.counters)
}

// ConsumeBatches implements transport.Consumer. The native reader hands h
// up to 256 consecutive records of one buffer per call, read in place; the
// cilium/ebpf reader and a re-ordering stage hand over one record per call.
func (c *Consumer) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	if c.hold != nil {
		return c.hold.Consume(ctx, "perfbuf", core.PerRecord(h), c.loop)
	}
	return core.LoopBatches(ctx, "perfbuf", c.lc, c.rd, c.counters, h)
}

func (c *Consumer) loop(ctx context.Context, h transport.Handler, counters *core.Counters) error {
	return core.Loop(ctx, "perfbuf", c.lc, c.rd, counters, h)
}

func recordCPU(r transport.Record) int { return int(r.CPU) }

// Stats implements transport.Consumer. Lost and LostPerCPU are the kernel's
// counts, so LostKnown is always true. LostPerCPU has one entry per CPU
// up to the last online one (not one per slot of the map). BufferBytes is 0 once the
// consumer is closed: its buffers are released.
func (c *Consumer) Stats() transport.Stats {
	s := c.counters.Snapshot()
	s.LostKnown = true
	c.lc.Do(func() { s.BufferBytes = uint64(c.rd.bufferBytes()) })
	return s
}

// Kind implements transport.Consumer: KindPerfbuf.
func (c *Consumer) Kind() transport.Kind { return transport.KindPerfbuf }

// Done implements transport.Consumer.
func (c *Consumer) Done() <-chan struct{} { return c.lc.Done() }

// Close implements transport.Consumer. It removes the buffers it installed
// from the map (BPF writes then fail with ENOENT; see the package doc for
// consumers sharing a map) and releases them; the map stays open.
func (c *Consumer) Close() error {
	if !c.lc.Close() {
		return nil
	}
	if c.hold != nil {
		c.hold.Close()
	}
	if err := c.rd.close(); err != nil {
		return fmt.Errorf("perfbuf: close: %w", err)
	}
	return nil
}
