// Package reorder merges several streams, each already in timestamp order
// (one per CPU for perfbuf, one per ring for several ringbufs), into one
// stream in timestamp order.
//
// A record is held until it is provably the oldest (every stream that has
// delivered before has a newer record waiting) or until it has been held for
// the window, whichever comes first. So the latency the stage adds is at most
// the window, and a larger window places more records correctly when streams
// are read in bursts. A record older than one already released cannot be
// placed: it is released at once and counted as late.
//
// The merge keeps one queue per stream and a min-heap of the streams' oldest
// records, so a record costs O(log streams), not a sort of everything held.
package reorder

import (
	"bytes"
	"time"

	"github.com/bpfstream/bpfstream/internal/arena"
	"github.com/bpfstream/bpfstream/transport"
)

// clockEvery is how many pushes share one reading of the clock.
const clockEvery = 64

// Stage is the merge. It is not safe for concurrent use: the consuming
// goroutine owns it.
type Stage struct {
	ts         transport.Timestamp
	window     time.Duration
	streams    []stream
	heads      headHeap // streams with a waiting record, by head timestamp
	seen       int      // streams that delivered at least once
	expected   int      // streams known to exist, whether seen or not
	held       int
	lastOut    uint64 // newest timestamp released
	released   bool   // whether lastOut is set
	late       uint64
	clock      time.Time // cached s.now(), refreshed every clockEvery pushes
	sinceClock int
	arena      arena.Bytes
	now        func() time.Time
	// unfinished is the record stored by a Push whose release did not
	// return (a handler panicked): a reader that hands that record over
	// again must not get it stored twice.
	unfinished    held
	unfinishedKey int
	unfinishedSet bool
}

type stream struct {
	queue []held // waiting records are queue[head:]
	head  int
	seen  bool
	last  uint64 // newest timestamp pushed
	index int    // position in heads, -1 when absent
}

type held struct {
	rec     transport.Record
	ts      uint64
	arrived time.Time
}

// New returns a Stage with the given window, expecting records from streams
// streams (CPUs or rings; more may appear). window 0 releases every record at
// once (only counting late ones).
func New(ts transport.Timestamp, window time.Duration, streams int) *Stage {
	s := &Stage{ts: ts, window: window, now: time.Now, expected: streams}
	s.heads.s = s
	return s
}

// Late is the number of records released out of order.
func (s *Stage) Late() uint64 { return s.late }

// Held is the number of records waiting in the stage.
func (s *Stage) Held() int { return s.held }

// Push adds r, which came from stream key (a CPU or a ring index, >= 0), and
// releases every record that is ready to out. r's bytes are copied: released
// records own theirs.
func (s *Stage) Push(r transport.Record, key int, out transport.Handler) error {
	if key < 0 {
		key = 0
	}
	if s.unfinishedSet {
		s.unfinishedSet = false
		u := &s.unfinished
		if key == s.unfinishedKey && bytes.Equal(r.Sample, u.rec.Sample) {
			// The reader hands over again the record whose Push
			// was cut short: it is stored already.
			*u = held{}
			return s.release(out, time.Time{})
		}
		*u = held{}
	}
	for key >= len(s.streams) {
		s.streams = append(s.streams, stream{index: -1})
	}
	st := &s.streams[key]
	ts, ok := s.ts(r.Sample)
	// Records without a timestamp, older than one already released, or
	// older than their own stream's previous record (the stream broke its
	// promise of order) cannot be placed.
	if !ok || (s.released && ts < s.lastOut) || (st.seen && ts < st.last) {
		r.Sample = s.arena.Copy(r.Sample)
		err := out(r)
		// Counted once out has returned: a record whose handler panics
		// is pushed again by the reader, and counted then.
		s.late++
		return err
	}
	st.last = ts
	if !st.seen {
		st.seen = true
		s.seen++
	}
	if st.head > 0 && len(st.queue) == cap(st.queue) {
		// Reuse the space of released records instead of growing.
		n := copy(st.queue, st.queue[st.head:])
		clear(st.queue[n:])
		st.queue, st.head = st.queue[:n], 0
	}
	r.Sample = s.arena.Copy(r.Sample)
	// Reading the clock costs more than the rest of a push: refresh it
	// every clockEvery pushes (and on every Release without a push), which
	// keeps arrival times accurate to a few microseconds.
	if s.sinceClock++; s.sinceClock >= clockEvery || s.clock.IsZero() {
		s.clock, s.sinceClock = s.now(), 0
	}
	h := held{rec: r, ts: ts, arrived: s.clock}
	st.queue = append(st.queue, h)
	s.held++
	if st.index < 0 {
		s.heads.push(key)
	}
	// Until release returns, r counts as unfinished (see Push's start).
	s.unfinished, s.unfinishedKey, s.unfinishedSet = h, key, true
	err := s.release(out, s.clock)
	s.unfinished, s.unfinishedSet = held{}, false
	return err
}

// Release hands out every record that is ready: provably the oldest, or held
// for the window. Call it when no records arrive, too, so held records leave
// within the window.
func (s *Stage) Release(out transport.Handler) error {
	return s.release(out, time.Time{})
}

// release is Release with the time to judge the window by; zero means read
// the clock when it is needed. Push passes its cached clock.
func (s *Stage) release(out transport.Handler, now time.Time) error {
	for s.heads.Len() > 0 {
		st := &s.streams[s.heads.keys[0]]
		h := st.queue[st.head]
		if s.heads.Len() < max(s.seen, s.expected) && s.window > 0 {
			// Some stream has nothing waiting: it may still deliver
			// an older record, so wait for the window.
			if now.IsZero() {
				now = s.now()
				s.clock, s.sinceClock = now, 0
			}
			if now.Sub(h.arrived) < s.window {
				return nil
			}
		}
		// The record leaves the stage only once out has returned: a
		// panicking handler leaves it at the head, to be handed over
		// again by the next release.
		err := out(h.rec)
		st.queue[st.head] = held{}
		st.head++
		if st.head == len(st.queue) {
			st.queue, st.head = st.queue[:0], 0
			s.heads.popTop()
		} else {
			s.heads.down(0)
		}
		s.held--
		if !s.released || h.ts > s.lastOut {
			s.lastOut, s.released = h.ts, true
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Flush releases everything held, oldest first.
func (s *Stage) Flush(out transport.Handler) error {
	w := s.window
	s.window = 0
	defer func() { s.window = w }()
	return s.Release(out)
}

// Discard empties the stage without handing its records out, calling f for
// each (to count it) instead.
func (s *Stage) Discard(f func(transport.Record)) {
	for i := range s.streams {
		st := &s.streams[i]
		for _, h := range st.queue[st.head:] {
			f(h.rec)
		}
		clear(st.queue)
		st.queue, st.head, st.index = st.queue[:0], 0, -1
	}
	s.heads.keys = s.heads.keys[:0]
	s.held = 0
	s.unfinished, s.unfinishedSet = held{}, false
}

// headHeap is a min-heap of stream keys ordered by the timestamp of each
// stream's oldest waiting record. It is written out rather than built on
// container/heap so that pushing a stream does not allocate.
type headHeap struct {
	s    *Stage
	keys []int
}

func (h *headHeap) Len() int { return len(h.keys) }

func (h *headHeap) ts(i int) uint64 {
	st := &h.s.streams[h.keys[i]]
	return st.queue[st.head].ts
}

func (h *headHeap) swap(i, j int) {
	h.keys[i], h.keys[j] = h.keys[j], h.keys[i]
	h.s.streams[h.keys[i]].index = i
	h.s.streams[h.keys[j]].index = j
}

func (h *headHeap) push(key int) {
	h.keys = append(h.keys, key)
	i := len(h.keys) - 1
	h.s.streams[key].index = i
	h.up(i)
}

func (h *headHeap) popTop() {
	last := len(h.keys) - 1
	h.swap(0, last)
	h.s.streams[h.keys[last]].index = -1
	h.keys = h.keys[:last]
	h.down(0)
}

func (h *headHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h.ts(parent) <= h.ts(i) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

func (h *headHeap) down(i int) {
	n := len(h.keys)
	for {
		smallest := i
		if l := 2*i + 1; l < n && h.ts(l) < h.ts(smallest) {
			smallest = l
		}
		if r := 2*i + 2; r < n && h.ts(r) < h.ts(smallest) {
			smallest = r
		}
		if smallest == i {
			return
		}
		h.swap(i, smallest)
		i = smallest
	}
}
