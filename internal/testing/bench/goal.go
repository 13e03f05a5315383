package bench

import (
	"errors"
	"sync/atomic"
)

// goal tracks progress: the consumer counts delivered records; the producer
// side publishes how many to expect once it has finished.
type goal struct {
	delivered atomic.Uint64
	expected  atomic.Uint64 // max until known
	lat       *latencies    // nil unless Config.Rate is set
}

func newGoal() *goal {
	g := new(goal)
	g.expected.Store(^uint64(0))
	return g
}

// reached reports whether a reader that counts locally has delivered enough,
// and publishes its count when it has. Readers count locally, like the libbpf
// path's C callback, so that no path pays an atomic read-modify-write per
// record for the harness; they also publish their count whenever they are
// about to wait, so the watcher can end a run whose expected count became
// known after the last record arrived.
func (g *goal) reached(n uint64) bool {
	if n >= g.expected.Load() {
		g.delivered.Store(n)
		return true
	}
	return false
}

func (g *goal) done() bool { return g.delivered.Load() >= g.expected.Load() }

var errGoal = errors.New("bench: goal reached")

// tally is one reader goroutine's count. A reader that is the only one
// counting (shared false) ends its run on the record that reaches the goal;
// several goroutines counting for one goal (the raw path on several rings,
// one cilium/ebpf reader each) add what they counted to the goal when they
// are about to wait, and the watcher ends the run.
type tally struct {
	g         *goal
	n         uint64
	published uint64
	shared    bool
}

// add counts a record and reports whether the goal is reached.
func (t *tally) add() bool {
	t.n++
	return !t.shared && t.g.reached(t.n)
}

// idle publishes the count before the reader waits.
func (t *tally) idle() {
	if t.shared {
		t.g.delivered.Add(t.n - t.published)
		t.published = t.n
		return
	}
	t.g.delivered.Store(t.n)
}
