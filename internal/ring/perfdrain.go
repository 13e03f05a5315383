package ring

import (
	"sync/atomic"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// Drain implements core.Source, as Ringbuf.Drain does, for the per-CPU
// buffers in the visit set: those epoll reported (perf's poll reports a
// wake-up, by event count or watermark), those left unfinished, and every
// buffer once per drain interval, which also finds records too few to have
// made a wake-up. Lost-sample records are counted, not handed over.
func (r *Perf) Drain(emit *core.Emitter) error {
	if !r.p.enter() {
		return transport.ErrClosed
	}
	var delivered int
	defer func() {
		// A batch gathered but not handed over when emit panicked is
		// dropped: its records are read again from the position.
		r.batch.recs, r.batch.bytes = r.batch.recs[:0], 0
		r.publish()
		r.p.leave()
		if delivered > 0 {
			r.opts.Counters.Wakeups.Add(1)
		}
	}()
	r.visit.sweep()
	var taken uint64
	timedOut := false
	for {
		n, moved, err := r.round(emit)
		delivered += n
		taken += moved
		if err != nil {
			return err
		}
		if moved > 0 && taken < r.maxBatch && !r.p.closed.Load() {
			continue
		}
		if delivered > 0 {
			r.settle()
			return nil
		}
		if r.p.closed.Load() {
			return transport.ErrClosed
		}
		if moved > 0 { // only lost records
			continue
		}
		if timedOut {
			return core.ErrWake
		}
		r.settle()
		to, err := r.p.await(wait{kind: waitEpoll}, &r.visit)
		if err != nil {
			return err
		}
		if to {
			r.visit.addAll()
			timedOut = true
		}
	}
}

// round takes one slice from every buffer in the visit set, starting one
// further each round.
func (r *Perf) round(emit *core.Emitter) (n int, moved uint64, err error) {
	r.visit.round(func(i int) bool {
		rn, rmoved, rerr := r.slice(&r.rings[i], emit)
		n, moved, err = n+rn, moved+rmoved, rerr
		return rerr == nil
	})
	return n, moved, err
}

// publish stores the position of every buffer in the visit set (those it
// did not move cost nothing).
func (r *Perf) publish() {
	for _, i := range r.visit.list {
		rg := &r.rings[i]
		rg.store(rg.tail)
	}
}

// settle publishes, and takes the buffers the reader has caught up with out
// of the visit set: perf wakes the reader by the bytes or events written,
// whatever the published tail, so no fence is needed before the check.
func (r *Perf) settle() {
	r.publish()
	r.visit.keep(func(i int) bool {
		rg := &r.rings[i]
		return atomic.LoadUint64(&rg.meta.Data_head) != rg.tail
	})
}
