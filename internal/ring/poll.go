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
// while the balance is not negative, pollRounds polls a phase. While polling
// does not pay, one phase in every pollProbe finds out whether it pays
// again: a producer that speeds up turns polling back on within pollProbe
// batches, at the cost of pollRounds polls per pollProbe wake-ups.
//
// A phase is short (pollRounds polls, 8 µs): a producer running flat out
// commits its next record within a poll or two, and the next record of one
// that paused for longer (between the bursts of a producer at a high but
// live rate) costs the consumer less through the kernel's wake-up than
// through more polls, 2 µs each. 16-poll phases needed no fewer wake-ups
// but cost the consumer 1.0-1.4x libbpf's CPU per record at 1M records/s
// in bursts; 4-poll phases cost 0.7-0.85x, with flat-out rates unchanged
// (see BENCHMARKS.md, "Short poll phases"). An earlier gate that counted a
// wake-up at the reader's share only (10 µs) and sized phases by recent
// finds turned polling off under a flat-out producer, where it paid
// (BENCHMARKS.md, "Caught-up polling").
const (
	pollRounds = 4
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
	polls   int           // polls made in the current phase
	started time.Time     // when the current phase began
}

func newPollGate() pollGate { return pollGate{} }

// poll reports whether to poll once more (the caller lags pollGap, then looks
// again). The first call of a phase decides whether the phase polls at all.
func (g *pollGate) poll() bool {
	if g.polls == 0 {
		if g.balance < 0 {
			if g.skipped++; g.skipped < pollProbe {
				return false
			}
			g.skipped = 0 // a probe
		}
		g.started = time.Now()
	}
	if g.polls >= pollRounds {
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
