package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/core"
)

// TestCoalesceIdleTickEndsDrain: a coalescing reader that finds nothing
// after a burst sleeps a tick and then ends the Drain with ErrWake, so that
// the consume loop runs its idle hook (a partial batch, the reorder stage's
// held records) and looks at its context once per tick, without a drain
// interval. Before, the Drain kept ticking until the rate had decayed, then
// slept in epoll, and the idle hook waited for the next record.
func TestCoalesceIdleTickEndsDrain(t *testing.T) {
	const bound = 4 * time.Millisecond
	tr := newTestRing(t, 1<<16, 0)
	tr.r.co = newCoalescer(bound, 1<<16)
	tr.r.co.active = true
	tr.r.co.rate = 1000 / tr.r.co.maxTick.Seconds() // a burst just ended

	res := await(t, tr, tr.drain(), "an idle coalescing tick")
	require.ErrorIs(t, res.err, core.ErrWake)
	require.Zero(t, res.records)
	require.Less(t, res.wall, 10*tr.r.co.maxTick, "Drain returned after %v; ticks of %v", res.wall, tr.r.co.maxTick)
}
