package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	bpfperf "github.com/bpfstream/bpfstream/perfbuf"
	bpfring "github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// drainInterval is the polling timer every path uses for producers that do
// not always wake the reader.
const drainInterval = 5 * time.Millisecond

// needsTimer reports whether the configuration leaves records waiting without
// a wake-up: ringbuf producers that skip wake-ups, and perf buffers with a
// watermark (the perf form of the "bytes" policy).
func needsTimer(cfg Config) bool {
	w := cfg.Producer.Wakeup
	if cfg.Producer.Kind.Ringbuf() {
		return w == producer.WakeupNever || w == producer.WakeupBytes
	}
	return w == producer.WakeupBytes
}

// perfWatermark is the perf watermark for the "bytes" wake-up policy: the
// perf counterpart of a ringbuf producer forcing a wake-up once that many
// bytes wait.
func perfWatermark(cfg Config) int {
	if cfg.Producer.Kind.Ringbuf() || cfg.Producer.Wakeup != producer.WakeupBytes {
		return 0
	}
	return min(cfg.Producer.WakeupBytes, cfg.Buffer/2)
}

func open(path Path, p *producer.Producer, cfg Config) (reader, error) {
	var interval time.Duration
	if needsTimer(cfg) {
		interval = drainInterval
	}
	switch path {
	case Raw:
		return openRaw(p, cfg, interval)
	case Libbpf:
		return openLibbpf(p, cfg, interval)
	}
	c, err := openConsumer(p, cfg, interval)
	if err != nil {
		return nil, err
	}
	base := consumer{c}
	switch path {
	case Callback:
		return &callback{consumer: base}, nil
	case Iter:
		return &iterate{consumer: base}, nil
	case Typed:
		return &callback{consumer: base, decode: newDecode(cfg.Producer.SampleSize)}, nil
	case Channel:
		return &channel{consumer: base}, nil
	case ChannelBatch:
		return &channel{consumer: base, batch: true}, nil
	case BatchCallback:
		return &batchCallback{consumer: base}, nil
	case ChannelBorrow:
		return &channel{consumer: base, batch: true, borrow: true}, nil
	}
	c.Close()
	return nil, fmt.Errorf("bench: unknown path %q", path)
}

// openRaw opens cilium/ebpf readers: one per ring (see raw).
func openRaw(p *producer.Producer, cfg Config, interval time.Duration) (reader, error) {
	if !cfg.Producer.Kind.Ringbuf() {
		rd, err := perf.NewReaderWithOptions(p.Map(), cfg.Buffer, perf.ReaderOptions{Watermark: perfWatermark(cfg)})
		if err != nil {
			return nil, err
		}
		return &raw[perf.Record]{rds: []rawSource[perf.Record]{rd}, interval: interval, record: perfRecord}, nil
	}
	r := &raw[ringbuf.Record]{interval: interval, record: ringRecord}
	for _, m := range rings(p) {
		rd, err := ringbuf.NewReader(m)
		if err != nil {
			r.close()
			return nil, err
		}
		r.rds = append(r.rds, rd)
	}
	return r, nil
}

// rings lists the producer's ring buffers: its one ring, or Config.Rings.
func rings(p *producer.Producer) []*ebpf.Map {
	if rs := p.Rings(); len(rs) > 0 {
		return rs
	}
	return []*ebpf.Map{p.Map()}
}

// openConsumer opens a bpfstream consumer on the producer's map, or one
// consumer on all its rings (ringbuf.NewMulti, as an agent with several rings
// would use).
func openConsumer(p *producer.Producer, cfg Config, interval time.Duration) (transport.Consumer, error) {
	ropts := bpfring.Options{DrainInterval: interval, Coalesce: cfg.Coalesce}
	if cfg.Ringbuf != nil {
		cfg.Ringbuf(&ropts)
	}
	if rs := p.Rings(); len(rs) > 0 {
		return bpfring.NewMulti(rs, ropts)
	}
	// Only the map's own options: Open refuses the other transport's alone.
	if cfg.Producer.Kind.Ringbuf() {
		return bpfstream.Open(p.Map(), bpfstream.Options{Ringbuf: ropts})
	}
	return bpfstream.Open(p.Map(), bpfstream.Options{
		Perfbuf: bpfperf.Options{PerCPUBytes: cfg.Buffer, WakeupBytes: perfWatermark(cfg), DrainInterval: interval},
	})
}

// consumer is what the paths on a bpfstream consumer share.
type consumer struct {
	c transport.Consumer
}

func (r consumer) close() error { return r.c.Close() }

// wakeupCount is Stats.Wakeups.
func (r consumer) wakeupCount() uint64 { return r.c.Stats().Wakeups }

// callback counts records in the handler; with decode set (the typed path)
// it also decodes each sample first.
type callback struct {
	consumer
	decode func([]byte) error
}

func (r *callback) run(ctx context.Context, g *goal) error {
	var n uint64
	h := func(transport.Record) error {
		if n++; g.reached(n) {
			return errGoal
		}
		return nil
	}
	if lat := g.lat; lat != nil {
		h = func(rec transport.Record) error {
			lat.add(rec.Sample)
			if n++; g.reached(n) {
				return errGoal
			}
			return nil
		}
	}
	if decode := r.decode; decode != nil {
		h = func(rec transport.Record) error {
			if err := decode(rec.Sample); err != nil {
				return err
			}
			if g.lat != nil {
				g.lat.add(rec.Sample)
			}
			if n++; g.reached(n) {
				return errGoal
			}
			return nil
		}
	}
	// Consume calls the idle hook before it waits.
	c := withIdle(r.c, func() error { g.delivered.Store(n); return nil })
	err := c.Consume(ctx, h)
	if errors.Is(err, errGoal) {
		return nil
	}
	return err
}

// iterate counts records in the body of a range over transport.All.
type iterate struct {
	consumer
}

func (r *iterate) run(ctx context.Context, g *goal) error {
	var n uint64
	c := withIdle(r.c, func() error { g.delivered.Store(n); return nil })
	for rec, err := range transport.All(ctx, c) {
		if err != nil {
			return err
		}
		if g.lat != nil {
			g.lat.add(rec.Sample)
		}
		if n++; g.reached(n) {
			break
		}
	}
	return nil
}

// batchCallback counts records a batch at a time in a batch handler.
type batchCallback struct {
	consumer
}

func (r *batchCallback) run(ctx context.Context, g *goal) error {
	var n uint64
	c := withIdle(r.c, func() error { g.delivered.Store(n); return nil })
	err := c.ConsumeBatches(ctx, func(recs []transport.Record) error {
		if g.lat != nil {
			for i := range recs {
				g.lat.add(recs[i].Sample)
			}
		}
		// Counted a batch at a time: what saving the call per record
		// is for. The goal is the total, so a batch that passes it
		// ends the run as the record reaching it would.
		if n += uint64(len(recs)); g.reached(n) {
			return errGoal
		}
		return nil
	})
	if errors.Is(err, errGoal) {
		return nil
	}
	return err
}

type channel struct {
	consumer
	batch  bool
	borrow bool
}

func (r *channel) run(ctx context.Context, g *goal) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.batch {
		s := transport.Batches(ctx, r.c, transport.ChannelOptions{Borrow: r.borrow})
		defer func() {
			cancel()
			for b := range s.C {
				b.Release()
			}
		}()
		var n uint64
		for batch := range s.C {
			if g.lat != nil {
				for i := range batch.Records {
					g.lat.add(batch.Records[i].Sample)
				}
			}
			// Counted a batch at a time, as the batch-callback path
			// counts.
			if n += uint64(len(batch.Records)); g.reached(n) {
				batch.Release()
				return nil
			}
			batch.Release()
			g.delivered.Store(n)
		}
		return s.Err()
	}
	s := transport.Records(ctx, r.c, transport.ChannelOptions{})
	defer s.Close()
	var n uint64
	for rec := range s.C {
		if g.lat != nil {
			g.lat.add(rec.Sample)
		}
		if n++; g.reached(n) {
			return nil
		}
		if len(s.C) == 0 {
			g.delivered.Store(n) // may wait next
		}
	}
	return s.Err()
}

// idleConsumer is a consumer whose Consume and ConsumeBatches call idle each
// time it has handed over what was waiting (transport.Receiver.Idle).
type idleConsumer struct {
	transport.ConsumerTo
	idle func() error
}

// withIdle returns c with idle as its idle hook.
func withIdle(c transport.Consumer, idle func() error) transport.Consumer {
	if ct, ok := c.(transport.ConsumerTo); ok {
		return idleConsumer{ct, idle}
	}
	return c
}

func (c idleConsumer) Consume(ctx context.Context, h transport.Handler) error {
	return c.ConsumeTo(ctx, transport.Receiver{Record: h, Idle: c.idle})
}

func (c idleConsumer) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	return c.ConsumeTo(ctx, transport.Receiver{
		Batch: func(recs []transport.Record, _ transport.Loan) error { return h(recs) },
		Idle:  c.idle,
	})
}
