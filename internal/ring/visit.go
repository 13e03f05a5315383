package ring

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
	next int     // where the next round starts in list, so none is always first
}

// newVisitSet returns an empty set of n buffers.
func newVisitSet(n int) visitSet {
	return visitSet{list: make([]int32, 0, n), in: make([]bool, n)}
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
}

// start returns where a round over the set starts and moves it on by one.
func (v *visitSet) start() int {
	k := len(v.list)
	if k == 0 {
		return 0
	}
	if v.next >= k {
		v.next = 0
	}
	s := v.next
	v.next++
	return s
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
