package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstream/bpfstream/internal/producer"
	bpfperf "github.com/bpfstream/bpfstream/perfbuf"
	bpfring "github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// drainInterval is the polling timer every path uses for producers that do
// not always wake the reader.
const drainInterval = 5 * time.Millisecond

func needsTimer(cfg Config) bool {
	w := cfg.Producer.Wakeup
	return cfg.Producer.Kind.Ringbuf() && (w == producer.WakeupNever || w == producer.WakeupBytes)
}

func open(path Path, p *producer.Producer, cfg Config) (reader, error) {
	var interval time.Duration
	if needsTimer(cfg) {
		interval = drainInterval
	}
	if path == Raw {
		if cfg.Producer.Kind.Ringbuf() {
			rd, err := ringbuf.NewReader(p.Map())
			return &rawRing{rd: rd, interval: interval}, err
		}
		rd, err := perf.NewReader(p.Map(), cfg.Buffer)
		return &rawPerf{rd: rd}, err
	}
	c, err := transport.Open(p.Map(), transport.OpenOptions{
		Perfbuf: bpfperf.Options{PerCPUBytes: cfg.Buffer},
		Ringbuf: bpfring.Options{DrainInterval: interval},
	})
	if err != nil {
		return nil, err
	}
	switch path {
	case Callback:
		return &callback{c: c}, nil
	case Channel:
		return &channel{c: c}, nil
	case ChannelBatch:
		return &channel{c: c, batch: true}, nil
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
	for {
		if r.interval > 0 {
			r.rd.SetDeadline(time.Now().Add(r.interval))
		}
		err := r.rd.ReadInto(&rec)
		if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if err != nil {
			return err
		}
		if g.add() {
			return nil
		}
	}
}

func (r *rawRing) close() error { return r.rd.Close() }

type rawPerf struct{ rd *perf.Reader }

func (r *rawPerf) run(ctx context.Context, g *goal) error {
	stop := context.AfterFunc(ctx, func() { _ = r.rd.Flush() })
	defer stop()
	var rec perf.Record
	for {
		err := r.rd.ReadInto(&rec)
		if errors.Is(err, perf.ErrFlushed) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if err != nil {
			return err
		}
		if rec.LostSamples == 0 && g.add() {
			return nil
		}
	}
}

func (r *rawPerf) close() error { return r.rd.Close() }

type callback struct{ c transport.Consumer }

func (r *callback) run(ctx context.Context, g *goal) error {
	err := r.c.Consume(ctx, func(transport.Record) error {
		if g.add() {
			return errGoal
		}
		return nil
	})
	if errors.Is(err, errGoal) {
		return nil
	}
	return err
}

func (r *callback) close() error { return r.c.Close() }

type channel struct {
	c     transport.Consumer
	batch bool
}

func (r *channel) run(ctx context.Context, g *goal) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.batch {
		s := transport.Batches(ctx, r.c, transport.ChannelOptions{})
		defer func() { cancel(); s.Wait() }()
		for batch := range s.C {
			for range batch {
				if g.add() {
					return nil
				}
			}
		}
		return s.Err()
	}
	s := transport.Records(ctx, r.c, transport.ChannelOptions{})
	defer func() { cancel(); s.Wait() }()
	for range s.C {
		if g.add() {
			return nil
		}
	}
	return s.Err()
}

func (r *channel) close() error { return r.c.Close() }
