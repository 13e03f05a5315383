// Package glue is what the kernel consumers (perfbuf.Consumer and
// ringbuf.Consumer) share around their reader: the lifecycle, the counters,
// the consume loops and the optional re-ordering stage. Each consumer adds
// only what is its own (its Stats, its Close of the kernel resources).
package glue

import (
	"context"
	"fmt"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/reorder"
	"github.com/bpfstream/bpfstream/transport"
)

// Consumer runs a reader as a [transport.ConsumerTo], less Stats and Kind.
type Consumer struct {
	name     string // prefixes errors: "perfbuf"
	lc       *core.Lifecycle
	counters *core.Counters
	src      core.Source
	hold     *reorder.Holder // nil without a re-ordering stage
}

// Stage configures a consumer's re-ordering stage: o (nil for none) merges
// streams streams, whose record's stream key returns.
type Stage struct {
	Options *transport.Reorder
	Streams int
	Key     func(transport.Record) int
}

// New returns an open Consumer of src, whose records are counted in
// counters; name prefixes its errors.
func New(name string, src core.Source, counters *core.Counters, stage Stage) *Consumer {
	c := &Consumer{name: name, lc: core.NewLifecycle(), counters: counters, src: src}
	if o := stage.Options; o != nil {
		c.hold = reorder.NewHolder(reorder.New(o.Timestamp, o.Window, stage.Streams), stage.Key, counters)
	}
	return c
}

// Consume implements [transport.Consumer.Consume].
func (c *Consumer) Consume(ctx context.Context, h transport.Handler) error {
	return c.ConsumeTo(ctx, transport.Receiver{Record: h})
}

// ConsumeBatches implements [transport.Consumer.ConsumeBatches].
func (c *Consumer) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	return c.ConsumeTo(ctx, core.BatchReceiver(h))
}

// ConsumeTo implements [transport.ConsumerTo.ConsumeTo]: a re-ordering stage
// hands over one record per call and lends nothing.
func (c *Consumer) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	if c.hold != nil {
		return c.hold.Consume(ctx, c.name, r, c.loop)
	}
	return c.loop(ctx, r, c.counters)
}

func (c *Consumer) loop(ctx context.Context, r transport.Receiver, counters *core.Counters) error {
	if s, ok := c.src.(Sharded); ok {
		return s.ConsumeShards(ctx, c.lc, r, func(ctx context.Context, lc *core.Lifecycle, src core.Source) error {
			return core.LoopTo(ctx, c.name, lc, src, counters, r)
		})
	}
	return core.LoopTo(ctx, c.name, c.lc, c.src, counters, r)
}

// Sharded is a source drained by several loops at once (ringbuf's
// Options.Shards): ConsumeShards runs loop once for each of its sources, on
// goroutines of its own, under the consumer's lifecycle lc, and returns when
// every loop has returned. r is the receiver the loops feed, for the source
// to refuse one that cannot be called from several goroutines.
type Sharded interface {
	core.Source
	ConsumeShards(ctx context.Context, lc *core.Lifecycle, r transport.Receiver, loop func(ctx context.Context, lc *core.Lifecycle, src core.Source) error) error
}

// Snapshot returns the counters.
func (c *Consumer) Snapshot() transport.Stats { return c.counters.Snapshot() }

// WhileOpen runs f, holding off Close, if the consumer is still open.
func (c *Consumer) WhileOpen(f func()) { c.lc.Do(f) }

// Done implements transport.Consumer.Done.
func (c *Consumer) Done() <-chan struct{} { return c.lc.Done() }

// Close closes the consumer once: it settles the stage's held records and
// calls release, which frees the kernel resources. Later calls return nil.
func (c *Consumer) Close(release func() error) error {
	if !c.lc.Close() {
		return nil
	}
	if c.hold != nil {
		c.hold.Close()
	}
	if err := release(); err != nil {
		return fmt.Errorf("%s: close: %w", c.name, err)
	}
	return nil
}
