package ring

import (
	"sync/atomic"
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// lendPoll is how often Drain looks for records while batches are lent: lent
// batches hold the published position back, so epoll would report the ring
// ready at once and the kernel's adaptive wake-ups, which compare a commit
// with the published position, would not come.
const lendPoll = time.Millisecond

// Drain implements core.Source: it hands over what is waiting in the rings
// it visits (visitSet), round robin by slices, and waits only when they are
// empty, with the wait its policies choose (see wait.go). While coalescing
// (Options.Coalesce), it waits a tick first instead, also when records are
// waiting: that is the delay the user accepted.
func (r *Ringbuf) Drain(emit *core.Emitter) error {
	if !r.p.enter() {
		return transport.ErrClosed
	}
	var delivered int
	defer func() {
		// Publish everything, also the record a caught-up slice held back
		// and on a panic in emit (the record being handed over is not
		// published, so the next Drain hands it over again); only a
		// coalescing batch that ended caught up keeps its records held
		// back, until its next tick.
		if !r.co.sleepNext {
			r.publish()
		}
		r.p.leave()
		if delivered > 0 {
			r.opts.Counters.Wakeups.Add(1)
		}
	}()
	if r.co.sleepNext {
		r.co.sleepNext = false
		if err := r.tick(); err != nil {
			return err
		}
	}
	r.visit.sweep()
	var taken uintptr
	var stalled time.Duration // waited in this Drain for busy records
	timedOut := false
	observed, observedBytes := 0, uintptr(0) // what the coalescer has been told about
	for {
		n, moved, busy, err := r.round(emit)
		delivered += n
		taken += moved
		if err != nil {
			return err
		}
		closed := r.p.closed.Load()
		if moved > 0 {
			r.spin.reset()
			r.gate.found()
			if taken < r.maxBatch && !closed {
				continue
			}
			return nil
		}
		if delivered > 0 {
			if r.gate.polls == 0 && !closed {
				n, bytes := delivered-observed, taken-observedBytes
				observed, observedBytes = delivered, taken
				if r.co.caughtUp(n, bytes) {
					return nil
				}
			}
			// Caught up, the last record held back from the published
			// position (see slice): look again while that pays. Not
			// with Coalesce, which spares wake-ups by its ticks: polls
			// that keep finding records would keep the Drain from
			// ending, and so the idle hook (a channel's partial batch)
			// from running, for longer than the bound.
			if !busy && !closed && !r.co.enabled() && r.gate.poll() {
				lag(pollGap)
				continue
			}
			r.gate.stop()
			// Publish now, and let the rings that are done leave
			// the visit set: the next wake-up names the rings that
			// have data.
			r.settle()
			return nil
		}
		if closed {
			return transport.ErrClosed
		}
		if timedOut {
			return core.ErrWake
		}
		if r.co.idle() {
			// Coalescing and nothing arrived yet: another tick, still
			// holding back, rather than epoll. If it brings nothing
			// either, the Drain ends (ErrWake), so that the loop runs
			// its idle hook and looks at its context every tick, as
			// after a batch.
			if err := r.tick(); err != nil {
				return err
			}
			timedOut = true
			continue
		}
		r.p.sleeping.Store(true) // before choose looks at the lent batches
		w, ok := r.choose(busy, &stalled, &timedOut)
		if !ok {
			r.p.sleeping.Store(false)
			continue
		}
		to, err := r.await(w)
		r.p.sleeping.Store(false)
		if err != nil {
			return err
		}
		if to {
			// The drain interval passed: one more round over every
			// ring (a producer may not wake the reader at all), whose
			// data is still handed over, then ErrWake, so the loop
			// can look at its context.
			r.visit.addAll()
			timedOut = true
		}
	}
}

// choose is the wait of a Drain that found nothing to hand over and is not
// coalescing, by policy: none when records wait (ok false); a busy record's
// back-off; polling while batches are lent; else epoll. It publishes
// everything before a wait that ends only by the kernel's wake-up.
func (r *Ringbuf) choose(busy bool, stalled *time.Duration, timedOut *bool) (w wait, ok bool) {
	waiting, lending := r.settle()
	switch {
	case busy:
		// A record is reserved but not committed (a sleepable program
		// can hold it across a page fault). epoll would not sleep: the
		// ring counts it as data. Back off instead, awake to Interrupt
		// and Close; ErrWake once the drain interval has passed, as an
		// epoll timeout would.
		w = r.spin.stalled()
		if w.kind == waitPause {
			*stalled += w.d
			*timedOut = r.p.timeout >= 0 && *stalled >= time.Duration(r.p.timeout)*time.Millisecond
		}
		return w, true
	case waiting:
		return wait{}, false
	case lending:
		// Until a release raises the floor (which kicks the wait).
		*timedOut = r.p.timeout >= 0
		return wait{kind: waitPause, d: lendPoll}, true
	}
	return wait{kind: waitEpoll}, true
}

// tick sleeps one coalescing tick, still holding records back, and tells the
// coalescer how long the sleep really took.
func (r *Ringbuf) tick() error {
	d := r.co.sleep()
	start := time.Now()
	_, err := r.await(wait{kind: waitPause, d: d})
	r.co.slept(d, time.Since(start))
	return err
}

// await performs w for the rings (see poller.await).
func (r *Ringbuf) await(w wait) (timedOut bool, err error) {
	return r.p.await(w, &r.visit)
}

// round takes one slice from every ring in the visit set, starting one
// further each round. It reports the records handed over, the bytes of ring
// consumed, and whether a ring stopped at a record not yet committed.
func (r *Ringbuf) round(emit *core.Emitter) (n int, moved uintptr, busy bool, err error) {
	r.visit.round(func(i int) bool {
		rn, rmoved, rbusy, rerr := r.slice(&r.rings[i], emit)
		n, moved, busy, err = n+rn, moved+rmoved, busy || rbusy, rerr
		return rerr == nil
	})
	return n, moved, busy, err
}

// publish stores the position of every ring in the visit set (those it did
// not move cost nothing).
func (r *Ringbuf) publish() {
	for _, i := range r.visit.list {
		rg := &r.rings[i]
		rg.store(rg.cons)
	}
}

// settle publishes the positions of the rings in the visit set and reports
// whether one of them has records waiting after that, and whether batches of
// one are lent. The rings caught up leave the set: the kernel's next commit
// to one wakes the reader through epoll.
//
// It is the reader's half of the wake-up handshake: the kernel commits a
// record and then reads the consumer position to decide whether to wake the
// reader; the reader publishes its position and then reads the producer
// position to decide whether to sleep. Each side needs a full fence between
// its store and its load, or both can read the other's old value and the
// record waits for the next wake-up. The positions are published with
// release stores (see storeRelease), so the fence is added here.
func (r *Ringbuf) settle() (waiting, lending bool) {
	r.publish()
	r.fence.Add(1)
	r.visit.keep(func(i int) bool {
		rg := &r.rings[i]
		w := atomic.LoadUintptr(rg.prodPos) != rg.cons
		l := rg.lent.Out()
		waiting, lending = waiting || w, lending || l
		// A ring whose position a lent batch holds back gets no
		// wake-up: it stays, and the lend polls look at it.
		return w || l
	})
	return waiting, lending
}
