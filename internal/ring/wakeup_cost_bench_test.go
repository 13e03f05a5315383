package ring_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/ring"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/transport"
)

// BenchmarkWakeupCost measures what one wake-up costs the reader's thread
// when one of N rings has data: the kernel commits one record into ring 0
// (an adaptive wake-up: the reader had caught up), then one Drain hands it
// over and returns. cpu-ns/wakeup is the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID, exact where getrusage counts in ticks) inside
// that Drain: the rings it visits, the polls
// it makes before it ends the batch, the epoll_wait that finds the ring. The
// kernel's side (the producer's commit and wake-up) is not in it.
func BenchmarkWakeupCost(b *testing.B) {
	privileged.Require(b)
	for _, n := range []int{1, 16, 128, 1024} {
		b.Run(fmt.Sprintf("rings=%d", n), func(b *testing.B) { benchWakeupCost(b, n) })
	}
}

func benchWakeupCost(b *testing.B, n int) {
	maps := make([]ring.RingbufMap, n)
	var prod *producer.Producer
	for i := range maps {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 16 << 10})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = m.Close() })
		if i == 0 {
			p, err := producer.Load(producer.Config{Kind: producer.RingbufOutput, Map: m})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = p.Close() })
			prod = p
		}
		maps[i] = ring.RingbufMap{FD: m.FD(), Size: 16 << 10, Source: i}
	}
	r, err := ring.NewRingbuf(maps, ring.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	got := 0
	emit := core.NewEmitter(func(transport.Record) error { got++; return nil })
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Steady state: the first Drains look at every ring once, and an
	// adaptive reader settles its policies.
	for range 256 {
		if err := prod.Run(0, 1); err != nil {
			b.Fatal(err)
		}
		if err := r.Drain(emit); err != nil {
			b.Fatal(err)
		}
	}
	got = 0
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := prod.Run(0, 1); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := threadCPUTime()
		if err := r.Drain(emit); err != nil {
			b.Fatal(err)
		}
		cpu += threadCPUTime() - before
	}
	b.StopTimer()
	if got < b.N {
		b.Fatalf("%d records handed over, want %d", got, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/wakeup")
}

func threadCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return time.Duration(ts.Nano())
}
