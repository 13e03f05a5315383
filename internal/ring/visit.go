package ring

import "time"

// visitSet is the buffers a Drain looks at: those epoll reported ready and
// those the reader has not finished with (a slice cut short by its limits, a
// record held back, a busy record, batches still lent). A wake-up then costs
// in proportion to the buffers that have data, not to the buffers that
// exist: a buffer leaves the set only once the reader has seen it caught up
// in a way that guarantees the kernel's next wake-up for it reaches epoll
// (see Ringbuf.settle and Perf.Drain), and the drain timer puts every buffer
// back in (a producer may write without waking the reader at all).
type visitSet struct {
	list []int32 // buffer indices, each at most once
	in   []bool  // in[i]: i is in list
	next int     // where the next round starts in list
	// every is the drain interval (0: none) and swept when every buffer
	// was last put in the set: sweep does it once per interval also while
	// wake-ups from other buffers keep epoll from ever timing out.
	every time.Duration
	swept time.Time
}

// newVisitSet returns an empty set of n buffers, drained at least every
// interval (0: only on wake-ups).
func newVisitSet(n int, interval time.Duration) visitSet {
	return visitSet{list: make([]int32, 0, n), in: make([]bool, n), every: interval}
}

// add puts buffer i in the set.
func (v *visitSet) add(i int) {
	if !v.in[i] {
		v.in[i] = true
		v.list = append(v.list, int32(i))
	}
}

// addAll puts every buffer in the set.
func (v *visitSet) addAll() {
	for i := range v.in {
		v.add(i)
	}
	if v.every > 0 {
		v.swept = time.Now()
	}
}

// sweep puts every buffer in the set if the drain interval has passed since
// the last time.
func (v *visitSet) sweep() {
	if v.every > 0 && time.Since(v.swept) >= v.every {
		v.addAll()
	}
}

// round calls visit for each buffer in the set, starting one further each
// round, so that no buffer is always first, until visit returns false.
func (v *visitSet) round(visit func(i int) bool) {
	k := len(v.list)
	if k == 0 {
		return
	}
	if v.next >= k {
		v.next = 0
	}
	start := v.next
	v.next++
	for j := range k {
		i := start + j
		if i >= k {
			i -= k
		}
		if !visit(int(v.list[i])) {
			return
		}
	}
}

// keep removes the buffers for which stay returns false, calling stay once
// for each buffer in the set.
func (v *visitSet) keep(stay func(i int) bool) {
	kept := v.list[:0]
	for _, i := range v.list {
		if stay(int(i)) {
			kept = append(kept, i)
		} else {
			v.in[i] = false
		}
	}
	v.list = kept
}
