package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/internal/idle"
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
		if cfg.Producer.Kind.Ringbuf() {
			rd, err := ringbuf.NewReader(p.Map())
			return &rawRing{rd: rd, interval: interval}, err
		}
		rd, err := perf.NewReaderWithOptions(p.Map(), cfg.Buffer, perf.ReaderOptions{Watermark: perfWatermark(cfg)})
		return &rawPerf{rd: rd, interval: interval}, err
	case Libbpf:
		return openLibbpf(p, cfg, interval)
	}
	// Only the map's own options: Open refuses the other transport's alone.
	opts := bpfstream.Options{Perfbuf: bpfperf.Options{PerCPUBytes: cfg.Buffer, WakeupBytes: perfWatermark(cfg), DrainInterval: interval}}
	if cfg.Producer.Kind.Ringbuf() {
		opts = bpfstream.Options{Ringbuf: bpfring.Options{DrainInterval: interval, Coalesce: cfg.Coalesce}}
	}
	c, err := bpfstream.Open(p.Map(), opts)
	if err != nil {
		return nil, err
	}
	switch path {
	case Callback:
		return &callback{c: c}, nil
	case Iter:
		return &iterate{c: c}, nil
	case Typed:
		return &callback{c: c, decode: newDecode(cfg.Producer.SampleSize)}, nil
	case Channel:
		return &channel{c: c}, nil
	case ChannelBatch:
		return &channel{c: c, batch: true}, nil
	case BatchCallback:
		return &batchCallback{c: c}, nil
	case ChannelBorrow:
		return &channel{c: c, batch: true, borrow: true}, nil
	}
	c.Close()
	return nil, fmt.Errorf("bench: unknown path %q", path)
}

// rawRing is the baseline a user would write with cilium/ebpf alone.
type rawRing struct {
	rd       *ringbuf.Reader
	interval time.Duration
}

func (r *rawRing) run(ctx context.Context, g *goal) error {
	stop := context.AfterFunc(ctx, func() { _ = r.rd.Flush() })
	defer stop()
	var rec ringbuf.Record
	var n uint64
	// The deadline is renewed only after it expired, as a careful user
	// would: a time.Now and a lock per record would slow the baseline.
	renew := r.interval > 0
	for {
		if renew {
			r.rd.SetDeadline(time.Now().Add(r.interval))
			renew = false
		}
		err := r.rd.ReadInto(&rec)
		if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			renew = r.interval > 0
			continue
		}
		if err != nil {
			return err
		}
		if g.lat != nil {
			g.lat.add(rec.RawSample)
		}
		if n++; g.reached(n) {
			return nil
		}
		if rec.Remaining == 0 {
			g.delivered.Store(n) // about to wait
		}
	}
}

func (r *rawRing) close() error { return r.rd.Close() }

type rawPerf struct {
	rd       *perf.Reader
	interval time.Duration
}

func (r *rawPerf) run(ctx context.Context, g *goal) error {
	stop := context.AfterFunc(ctx, func() { _ = r.rd.Flush() })
	defer stop()
	var rec perf.Record
	var n uint64
	renew := r.interval > 0
	for {
		if renew {
			r.rd.SetDeadline(time.Now().Add(r.interval))
			renew = false
		}
		err := r.rd.ReadInto(&rec)
		if errors.Is(err, perf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			renew = r.interval > 0
			continue
		}
		if err != nil {
			return err
		}
		if rec.LostSamples == 0 {
			if g.lat != nil {
				g.lat.add(rec.RawSample)
			}
			if n++; g.reached(n) {
				return nil
			}
		}
		if rec.Remaining == 0 {
			g.delivered.Store(n) // this CPU's buffer is empty: may wait next
		}
	}
}

func (r *rawPerf) close() error { return r.rd.Close() }

// callback counts records in the handler; with decode set (the typed path)
// it also decodes each sample first.
type callback struct {
	c      transport.Consumer
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
	ctx = idle.With(ctx, func() error { g.delivered.Store(n); return nil })
	err := r.c.Consume(ctx, h)
	if errors.Is(err, errGoal) {
		return nil
	}
	return err
}

func (r *callback) close() error           { return r.c.Close() }
func (r *callback) stats() transport.Stats { return r.c.Stats() }

// iterate counts records in the body of a range over transport.All.
type iterate struct {
	c transport.Consumer
}

func (r *iterate) run(ctx context.Context, g *goal) error {
	var n uint64
	ctx = idle.With(ctx, func() error { g.delivered.Store(n); return nil })
	for rec, err := range transport.All(ctx, r.c) {
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

func (r *iterate) close() error           { return r.c.Close() }
func (r *iterate) stats() transport.Stats { return r.c.Stats() }

// batchCallback counts records a batch at a time in a batch handler.
type batchCallback struct {
	c transport.Consumer
}

func (r *batchCallback) run(ctx context.Context, g *goal) error {
	var n uint64
	ctx = idle.With(ctx, func() error { g.delivered.Store(n); return nil })
	err := r.c.ConsumeBatches(ctx, func(recs []transport.Record) error {
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

func (r *batchCallback) close() error { return r.c.Close() }

type channel struct {
	c      transport.Consumer
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

func (r *channel) close() error           { return r.c.Close() }
func (r *channel) stats() transport.Stats { return r.c.Stats() }
