package bench

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
)

// rawSource is what cilium/ebpf's ringbuf.Reader and perf.Reader have in
// common.
type rawSource[R any] interface {
	ReadInto(*R) error
	SetDeadline(time.Time)
	Flush() error
	Close() error
}

// raw is the baseline a user would write with cilium/ebpf alone: ReadInto
// with a reused record, in a loop per reader. cilium/ebpf has one reader per
// ring buffer, so several rings (producer.Config.Rings) get a reader and a
// goroutine each; a perf event array is one reader for every CPU.
type raw[R any] struct {
	rds      []rawSource[R]
	interval time.Duration
	// record returns rec's sample (ok false for a perf record of lost
	// samples) and whether the reader found its buffer empty after it,
	// so that its next read waits.
	record  func(rec *R) (sample []byte, ok, empty bool)
	wakeups atomic.Uint64
}

func ringRecord(rec *ringbuf.Record) ([]byte, bool, bool) {
	return rec.RawSample, true, rec.Remaining == 0
}

func perfRecord(rec *perf.Record) ([]byte, bool, bool) {
	return rec.RawSample, rec.LostSamples == 0, rec.Remaining == 0
}

func (r *raw[R]) run(ctx context.Context, g *goal) error {
	if len(r.rds) == 1 {
		return r.read(ctx, r.rds[0], &tally{g: g})
	}
	// The goal is reached by the goroutines together: the watcher ends
	// the run (see tally).
	errs := make([]error, len(r.rds))
	var wg sync.WaitGroup
	for i, rd := range r.rds {
		wg.Go(func() { errs[i] = r.read(ctx, rd, &tally{g: g, shared: true}) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// read is one reader's loop.
func (r *raw[R]) read(ctx context.Context, rd rawSource[R], t *tally) error {
	stop := context.AfterFunc(ctx, func() { _ = rd.Flush() })
	defer stop()
	var rec R
	var waits uint64
	defer func() { r.wakeups.Add(waits) }()
	// The deadline is renewed only after it expired, as a careful user
	// would: a time.Now and a lock per record would slow the baseline.
	renew := r.interval > 0
	for {
		if renew {
			rd.SetDeadline(time.Now().Add(r.interval))
			renew = false
		}
		err := rd.ReadInto(&rec)
		// ringbuf.ErrFlushed is perf.ErrFlushed.
		if errors.Is(err, ringbuf.ErrFlushed) || errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				t.idle()
				return ctx.Err()
			}
			renew = r.interval > 0
			continue
		}
		if err != nil {
			return err
		}
		sample, ok, empty := r.record(&rec)
		if ok {
			if g := t.g; g.lat != nil {
				g.lat.add(sample)
			}
			if t.add() {
				return nil
			}
		}
		if empty {
			waits++ // the next read waits for a wake-up
			t.idle()
		}
	}
}

// wakeupCount reports the reads that emptied a buffer, each followed by a wait: the
// raw path's wake-ups, as near as the loop can tell.
func (r *raw[R]) wakeupCount() uint64 { return r.wakeups.Load() }

func (r *raw[R]) close() error {
	var errs []error
	for _, rd := range r.rds {
		errs = append(errs, rd.Close())
	}
	return errors.Join(errs...)
}
