package bench

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// latencies records delivery latencies on the consumer's goroutine: the
// handler's time minus the sample's KtimeNs (bpf_ktime_get_ns, which is
// CLOCK_MONOTONIC, the clock Go's monotonic readings come from). A Go
// reading costs no system call, but its zero is the process's start, so
// newLatencies pairs one with a CLOCK_MONOTONIC reading once.
type latencies struct {
	t0    time.Time // a monotonic reading ...
	mono0 int64     // ... and CLOCK_MONOTONIC in ns at the same moment
	ns    []uint64
}

func newLatencies(n int) *latencies {
	l := &latencies{ns: make([]uint64, 0, n)}
	l.t0, l.mono0 = calibrate()
	return l
}

// calibrate returns a Go reading and the CLOCK_MONOTONIC time at the same
// moment, within a few µs. A single pair read one after the other can be
// milliseconds apart (the thread descheduled between them), which then
// offsets every latency by as much: it brackets the system call between two
// Go readings, several times, and keeps the tightest bracket.
func calibrate() (time.Time, int64) {
	var best time.Duration = -1
	var t0 time.Time
	var mono0 int64
	for range 16 {
		var ts unix.Timespec
		before := time.Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			panic(err) // cannot fail on Linux
		}
		after := time.Now()
		if gap := after.Sub(before); best < 0 || gap < best {
			best, t0, mono0 = gap, before.Add(gap/2), ts.Nano()
		}
	}
	return t0, mono0
}

// add records the latency of sample; one clock read, no allocation.
func (l *latencies) add(sample []byte) {
	kt, ok := producer.Ktime(sample)
	if !ok || len(l.ns) == cap(l.ns) {
		return
	}
	now := uint64(l.mono0 + int64(time.Since(l.t0)))
	l.ns = append(l.ns, now-min(kt, now))
}

// latencyReader is a reader that records latencies itself (the libbpf
// path, in C).
type latencyReader interface {
	recordLatencies(n int)
	latencies() []uint64
}

// waker is a reader that counts its wake-ups: Stats.Wakeups for bpfstream's
// paths, the reads that emptied the ring for raw, the polls that found data
// for libbpf.
type waker interface {
	wakeupCount() uint64
}

// Percentile returns the q-quantile (0 to 1) of latencies in ns, nearest
// rank; 0 for none.
func Percentile(ns []uint64, q float64) time.Duration {
	if len(ns) == 0 {
		return 0
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	i := min(int(q*float64(len(s))), len(s)-1)
	return time.Duration(s[i])
}
