package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// TestCoalescerPolicy: the reader starts coalescing once the rate reaches a
// few records per tick, keeps coalescing through a short lull, and stops once
// the rate has stayed low; the tick shortens so that one fills at most a
// quarter of the ring, and never exceeds half the bound.
func TestCoalescerPolicy(t *testing.T) {
	const bound = 2 * time.Millisecond
	c := newCoalescer(bound, 1<<20)
	require.True(t, c.enabled())
	require.Equal(t, bound/2, c.tick)
	now := c.winStart

	// 1,000 records/s: half a record per tick, not worth a timer.
	for range 20 {
		now = now.Add(time.Millisecond)
		c.observe(1, 32, now)
	}
	require.False(t, c.active, "coalescing at %.0f records/s", c.rate)

	// 100,000 records/s: 100 per tick.
	for range 3 {
		now = now.Add(time.Millisecond)
		c.observe(100, 3200, now)
	}
	require.True(t, c.active, "not coalescing at %.0f records/s", c.rate)

	// One empty tick is a lull, not the end.
	now = now.Add(time.Millisecond)
	c.observe(0, 0, now)
	require.True(t, c.active)
	require.Equal(t, bound/2, c.tick)

	// 512 KiB in a tick: the next tick is short enough to fill a quarter
	// of the ring (the recent rate counts, not only the average).
	now = now.Add(c.tick)
	c.observe(16384, 1<<19, now)
	require.True(t, c.active)
	require.Less(t, c.tick, bound/2/2)
	require.GreaterOrEqual(t, c.tick, coalesceMinTick)
	// Faster than a quarter of the ring per shortest tick: too fast to
	// coalesce; back to epoll.
	now = now.Add(c.tick)
	c.observe(1<<20, 1<<25, now)
	require.False(t, c.active)
	require.Equal(t, coalesceMinTick, c.tick)
	// A tick that half fills the ring ends coalescing at once, and for
	// coalesceHoldOff windows, even at rates that would coalesce (what a
	// ring that filled up shows: the drops are not seen).
	c.active, c.rate, c.byteRate, c.winStart = true, 1e6, 0, now
	require.False(t, c.caughtUp(100, 1<<19+8))
	require.False(t, c.active)
	for i := 0; i < coalesceHoldOff-1; i++ {
		now = now.Add(c.tick)
		c.observe(100, 3200, now)
		require.False(t, c.active, "coalescing again after %d windows", i+1)
	}
	now = now.Add(c.tick)
	c.observe(100, 3200, now)
	require.True(t, c.active, "not coalescing after %d windows at a slow rate", coalesceHoldOff)

	// Slower again: coalescing, with the longest tick once the average
	// has come down.
	for i := 0; !c.active || c.tick != bound/2; i++ {
		require.Less(t, i, 50, "not back to coalescing: %+v", c)
		now = now.Add(c.tick)
		c.observe(100, 3200, now)
	}

	// Idle: the rate decays below the threshold within a few ticks.
	ticks := 0
	for c.active {
		now = now.Add(c.tick)
		c.observe(0, 0, now)
		ticks++
		require.Less(t, ticks, 50, "still coalescing at %.0f records/s", c.rate)
	}
	require.Equal(t, bound/2, c.tick)

	off := newCoalescer(0, 1<<20)
	require.False(t, off.enabled())
	require.Equal(t, coalesceMinTick, newCoalescer(MinCoalesce, 4096).tick)
}

// commit writes a committed record of ln bytes at the producer position.
func (tr *testRing) commit(ln uint32) {
	tr.put(tr.prod, ln, 0)
	tr.prod += ringbufHdrSize + uintptr(ln+7)&^7
}

// TestCoalesceHoldsBack: a coalescing Drain that caught up ends its batch
// with the last record unpublished (so the producer's next commit does not
// wake anyone) and the next Drain starts with a tick; once nothing arrives
// for a while, the reader publishes everything and waits in epoll again.
func TestCoalesceHoldsBack(t *testing.T) {
	const bound = 4 * time.Millisecond
	tr := newTestRing(t, 1<<16, 50*time.Millisecond)
	tr.r.co = newCoalescer(bound, 1<<16)
	tr.r.co.active = true
	tr.r.co.rate = 20 / tr.r.co.maxTick.Seconds() // 20 records per tick so far

	for range 10 {
		tr.commit(16)
	}
	res := await(t, tr, tr.drain(), "a batch")
	require.NoError(t, res.err)
	require.Equal(t, 10, res.records)
	require.Equal(t, tr.prod-24, tr.cons, "the last record must stay unpublished")
	require.True(t, tr.r.co.sleepNext)

	// Records committed meanwhile wait for the tick, then arrive; the last
	// one is held back again.
	for range 5 {
		tr.commit(16)
	}
	start := time.Now()
	res = await(t, tr, tr.drain(), "a tick")
	require.NoError(t, res.err)
	require.Equal(t, 5, res.records)
	require.GreaterOrEqual(t, time.Since(start), tr.r.co.tick/2, "no tick before the batch")
	require.Equal(t, tr.prod-24, tr.cons)

	// Nothing more: each empty tick ends a Drain (the loop's idle hook
	// runs), and after a few of them the reader stops coalescing,
	// publishes everything and sleeps in epoll until the drain interval.
	for i := 0; tr.r.co.active; i++ {
		require.Less(t, i, 100, "still coalescing after %d empty ticks", i)
		res = await(t, tr, tr.drain(), "the rate to fall")
		require.ErrorIs(t, res.err, core.ErrWake)
		require.Zero(t, res.records)
	}
	require.Equal(t, tr.prod, tr.cons, "an idle reader must publish everything before waiting in epoll")

	// Interrupt and Close end a tick.
	tr.r.co.active, tr.r.co.sleepNext = true, true
	tr.r.co.tick = time.Hour
	ch := tr.drain()
	time.Sleep(20 * time.Millisecond)
	tr.r.Interrupt()
	require.ErrorIs(t, await(t, tr, ch, "Interrupt").err, core.ErrWake)
	tr.r.co.sleepNext = true
	ch = tr.drain()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, tr.r.Close())
	require.ErrorIs(t, await(t, tr, ch, "Close").err, transport.ErrClosed)
}

// TestCoalescerAsksForLessThanTheTick: sleeps that overrun make the next
// ticks ask for less, by about the overrun, so that a tick on the clock stays
// within the bound; never below a quarter of the tick, and a sleep cut short
// (a kick) does not count as early.
func TestCoalescerAsksForLessThanTheTick(t *testing.T) {
	c := newCoalescer(time.Millisecond, 1<<20)
	tick := c.tick
	require.Equal(t, tick, c.sleep(), "no overrun seen yet")

	for range 20 {
		d := c.sleep()
		c.slept(d, d+200*time.Microsecond)
	}
	require.InDelta(t, float64(tick-200*time.Microsecond), float64(c.sleep()), float64(10*time.Microsecond))

	for range 20 {
		d := c.sleep()
		c.slept(d, d/2)
	}
	require.InDelta(t, float64(tick), float64(c.sleep()), float64(10*time.Microsecond), "sleeps on time again")

	for range 20 {
		d := c.sleep()
		c.slept(d, d+time.Hour)
	}
	require.Equal(t, tick/4, c.sleep(), "a stalled machine")
}
