package ring

import "time"

// Caught-up polling. A ring buffer reader that has caught up holds its last
// record back from the published position (see Ringbuf.slice), so that
// records committed meanwhile cost the producer no wake-up, and looks again
// a few times, pollGap apart, before it ends the batch and sleeps. The gap
// keeps a reader polling right behind a producer from taking the lines the
// producer writes away from it. That buys speed while the producer runs flat
// out and is pure cost at the rates agents run at, where the next record
// comes long after the polls gave up (see BENCHMARKS.md).
//
// So polling must pay for itself: pollGate keeps a balance of what polling
// saved (wakeupCost for each phase of polls that found records, a wake-up
// the reader did not need) against the time it spent polling, and polls only
// while the balance is not negative, pollRounds polls a phase (shorter
// phases, sized by recent finds, failed more often under a flat-out producer
// and turned polling off where it paid). While polling does not
// pay, one phase of pollMin polls in every pollProbe finds out whether it
// pays again: a producer that speeds up turns polling back on within
// pollProbe batches, at the cost of pollMin polls per pollProbe wake-ups.
const (
	pollRounds = 16
	pollMin    = 4
	pollGap    = 2 * time.Microsecond
	pollProbe  = 32
	// wakeupCost estimates what one wake-up the reader is spared costs:
	// the reader's own (epoll_wait's return, the thread's wake-up, the
	// round that finds the ring: 7-10 µs for libbpf's reader) and the
	// producer's (the irq_work and remote wake-up a commit pays when the
	// reader sleeps): 16-19 µs at 1M records/s in bursts, though it
	// varies from run to run (BENCHMARKS.md, "Live rates, five rounds of
	// 3 s, and the producer's side"). Counting only the reader's turned
	// polling off under a flat-out producer and halved its rate end to
	// end (see BENCHMARKS.md, "Caught-up polling").
	wakeupCost = 30 * time.Microsecond
	// pollCredit bounds the balance both ways, so that a change of the
	// producer's rate changes the decision within a few batches.
	pollCredit = 4 * wakeupCost
)

// pollGate decides how many polls a caught-up reader makes (see above).
type pollGate struct {
	balance time.Duration // saved minus spent, decayed by 1/8 per phase
	skipped int           // phases skipped since the last probe
	limit   int           // polls allowed in the current phase
	polls   int           // polls made in the current phase
	started time.Time     // when the current phase began
}

func newPollGate() pollGate { return pollGate{} }

// poll reports whether to poll once more (the caller lags pollGap, then looks
// again). The first call of a phase decides the phase's limit.
func (g *pollGate) poll() bool {
	if g.polls == 0 {
		g.limit = 0
		if g.balance >= 0 {
			g.limit = pollRounds
		} else if g.skipped++; g.skipped >= pollProbe {
			g.skipped = 0
			g.limit = pollMin
		}
		if g.limit == 0 {
			return false
		}
		g.started = time.Now()
	}
	if g.polls >= g.limit {
		g.end(0)
		return false
	}
	g.polls++
	return true
}

// found ends the phase: its last poll found records.
func (g *pollGate) found() {
	if g.polls > 0 {
		g.end(wakeupCost)
	}
}

// stop ends a phase cut short (by a busy record, or Close) as one that found
// nothing.
func (g *pollGate) stop() {
	if g.polls > 0 {
		g.end(0)
	}
}

// end settles the phase's account: saved against the time spent.
func (g *pollGate) end(saved time.Duration) {
	spent := time.Since(g.started)
	g.balance -= g.balance / 8
	g.balance = min(max(g.balance+saved-spent, -pollCredit), pollCredit)
	g.polls = 0
}
