package ring

import "time"

// Wake-up coalescing (Options.Coalesce).
//
// With the kernel's adaptive wake-ups, bpf_ringbuf_commit wakes the reader
// (an irq_work on the producer's CPU, then a remote wake-up of the reader's
// thread) when the consumer position it reads equals the position of the
// record it commits: when the reader had caught up. A reader that has caught
// up but keeps its published position one record behind is never woken, and
// the producer's commits cost it nothing. Polling for a few rounds before
// sleeping (Drain) already uses that; a coalescing reader goes further while
// the rate is high: it ends each batch holding its last record back and
// sleeps on a timer (a tick, at most half the bound the user accepts) instead
// of in epoll, then drains what arrived meanwhile. When the rate falls, it
// publishes everything and waits in epoll again: the next commit wakes it at
// once, so a quiet producer's records are not delayed at all.
//
// A record therefore waits at most one tick plus the time to read the records
// before it (and the kernel's timer slack, 50 µs by default): within the bound
// as long as the handler keeps up. A tick's sleep asks for less than the tick
// by what sleeps have recently overrun (see coalescer.late), so that the
// tick measured on the clock, not the one asked for, is what the bound
// counts.

// Coalescing policy.
const (
	// coalesceEnter and coalesceLeave are the rates, in records per
	// longest tick, above which a reader starts coalescing and below
	// which it stops. Below a few records per tick a timer wakes the
	// reader about as often as the producer would, and only adds delay.
	coalesceEnter = 8
	coalesceLeave = 4
	// MinCoalesce is the smallest bound Options.Coalesce accepts: the
	// longest tick is half of it, and a shorter sleep than 50 µs is
	// mostly the kernel's timer slack.
	MinCoalesce = 100 * time.Microsecond
	// coalesceMinTick is the shortest tick. The tick shortens as the
	// rate grows, so that one (plus coalesceOverhead, the kernel's timer
	// slack and the wake-up) fills at most a quarter of the smallest
	// ring; a rate that would need a shorter tick is too fast for the
	// ring to coalesce: the reader then keeps to epoll, where at such
	// rates it mostly polls anyway.
	coalesceMinTick  = MinCoalesce / 2
	coalesceOverhead = 60 * time.Microsecond
	// coalesceHoldOff is how many windows a reader waits in epoll before
	// it coalesces again after a tick filled half a ring. The rates it
	// measured while coalescing cannot be trusted then: a ring that
	// filled up hides the samples the producer dropped, so the rate looks
	// slow enough to coalesce again at once, and the next tick drops
	// again. In epoll the reader keeps up, and the windows measure the
	// producer's real rate.
	coalesceHoldOff = 8
)

// coalescer is a Ringbuf's coalescing state. The zero value is off.
type coalescer struct {
	maxTick time.Duration // half the bound; 0: off
	tick    time.Duration // the current tick, coalesceMinTick to maxTick
	fill    uintptr       // bytes of the smallest ring
	active  bool          // coalescing: timer ticks instead of epoll
	holdOff int           // windows left before coalescing may start again
	// sleepNext means the last Drain ended caught up while active, its
	// last records held back: the next Drain starts with a tick.
	sleepNext bool
	// late is how much longer than asked a tick's sleep takes, a moving
	// average: the timer's slack and expiry, and the thread getting its
	// CPU back, 100-350 µs on a virtual machine (BENCHMARKS.md,
	// "Coalescing delay"). A tick asks for that much less, so that ticks
	// are as long as the bound allows, not longer.
	late time.Duration

	rate       float64 // records per second, moving average over windows
	byteRate   float64 // bytes of ring per second, likewise
	winStart   time.Time
	winRecords int
	winBytes   uintptr
}

func newCoalescer(bound time.Duration, fill uintptr) coalescer {
	if bound <= 0 {
		return coalescer{}
	}
	tick := max(bound/2, coalesceMinTick)
	return coalescer{maxTick: tick, tick: tick, fill: fill, winStart: time.Now()}
}

func (c *coalescer) enabled() bool { return c.maxTick > 0 }

// observe adds n records (bytes of ring) handed over and, once a tick has
// passed since the window started, updates the rates, the tick (the longest,
// at most half the bound, in which the producer fills at most a quarter of
// the smallest ring at the higher of its recent and its average rate, so
// that coalescing does not make it drop) and whether to coalesce (with some
// hysteresis, so that a bursty producer does not make the reader flip
// between timer and epoll).
func (c *coalescer) observe(n int, bytes uintptr, now time.Time) {
	c.winRecords += n
	c.winBytes += bytes
	el := now.Sub(c.winStart).Seconds()
	if el < c.tick.Seconds() {
		return
	}
	c.rate += (float64(c.winRecords)/el - c.rate) / 4
	recent := float64(c.winBytes) / el
	c.byteRate += (recent - c.byteRate) / 4
	c.winStart, c.winRecords, c.winBytes = now, 0, 0

	c.tick = c.maxTick
	if br := max(recent, c.byteRate); br*(c.maxTick+coalesceOverhead).Seconds() > float64(c.fill/4) {
		c.tick = time.Duration(float64(c.fill/4)/br*float64(time.Second)) - coalesceOverhead
	}
	tooFast := c.tick < coalesceMinTick
	c.tick = max(c.tick, coalesceMinTick)
	perTick := c.rate * c.maxTick.Seconds()
	if c.holdOff > 0 {
		c.holdOff--
	}
	switch {
	case !c.active && perTick >= coalesceEnter && !tooFast && c.holdOff == 0:
		c.active = true
	case c.active && (perTick < coalesceLeave || tooFast):
		c.active = false
	}
}

// caughtUp is called once per batch when Drain has caught up with the
// producers after handing over n more records (bytes of ring). It reports
// whether to end the batch now and start the next Drain with a tick, holding
// the last records back: true while coalescing.
func (c *coalescer) caughtUp(n int, bytes uintptr) bool {
	if !c.enabled() {
		return false
	}
	if c.active && bytes > c.fill/2 {
		// One tick half filled a ring: the rate jumped, and the
		// producer may already have dropped. Back to epoll at once,
		// and for a few windows (see coalesceHoldOff).
		c.active = false
		c.holdOff = coalesceHoldOff
	}
	c.observe(n, bytes, time.Now())
	if !c.active {
		return false
	}
	c.sleepNext = true
	return true
}

// idle is called when Drain found nothing to hand over. It reports whether
// to sleep a tick and look again (still coalescing) rather than publish
// everything and wait in epoll.
func (c *coalescer) idle() bool {
	if !c.active {
		return false
	}
	c.observe(0, 0, time.Now())
	return c.active
}

// sleep is how long the next tick asks to sleep: the tick less what sleeps
// have been taking longer than asked, but at least a quarter of the tick
// (a machine that stalls a thread for longer than a tick is one where the
// bound cannot hold, and ticks of nothing would only spin).
func (c *coalescer) sleep() time.Duration {
	return max(c.tick-c.late, c.tick/4)
}

// slept records that a sleep asked for d took took.
func (c *coalescer) slept(d, took time.Duration) {
	over := min(max(took-d, 0), c.maxTick)
	c.late += (over - c.late) / 4
}
