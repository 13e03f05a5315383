package bench

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// latencies records delivery latencies on the consumer's goroutine: the
// handler's time minus the sample's KtimeNs (bpf_ktime_get_ns, which is
// CLOCK_MONOTONIC, the clock Go's monotonic readings come from).
type latencies struct {
	t0    time.Time // a monotonic reading ...
	mono0 int64     // ... and CLOCK_MONOTONIC in ns at about the same moment
	ns    []uint64
}

func newLatencies(n int) *latencies {
	l := &latencies{t0: time.Now(), ns: make([]uint64, 0, n)}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err) // cannot fail on Linux
	}
	l.mono0 = ts.Nano()
	return l
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
