package bench_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// TestMeasureLiveCountsEveryRecord: at a fixed rate, on one ring and on
// several (one busy, all busy), every path delivers exactly what the producer
// emitted, and reports CPU time and wake-ups.
func TestMeasureLiveCountsEveryRecord(t *testing.T) {
	privileged.Require(t)
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	cfg := bench.LiveConfig{
		Config: bench.Config{ProducerCPU: 0, ConsumerCPU: 1},
		Rate:   20_000, Burst: 64, Duration: 50 * time.Millisecond,
	}
	const want = 1000 // 20,000/s for 50 ms
	for _, rc := range []struct{ rings, busy int }{{1, 1}, {4, 1}, {4, 0}} {
		p, err := bench.LoadLive(64, rc.rings, rc.busy, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		idle, err := bench.MeasureIdle(p, cfg)
		if err != nil || idle < 0 {
			t.Fatalf("idle %v: %v", idle, err)
		}
		for _, path := range bench.LivePaths() {
			t.Run(fmt.Sprintf("rings=%d/busy=%d/%s", rc.rings, rc.busy, path), func(t *testing.T) {
				res, err := bench.MeasureLive(p, cfg, path)
				if err != nil {
					t.Fatal(err)
				}
				if res.Delivered != want || res.Lost != 0 {
					t.Fatalf("delivered %d, lost %d, want %d", res.Delivered, res.Lost, want)
				}
				if res.ConsumerCPU <= 0 || res.ProducerCPU <= 0 || res.Wakeups == 0 || res.Wakeups > res.Delivered {
					t.Fatalf("consumer CPU %v, producer CPU %v, %d wake-ups", res.ConsumerCPU, res.ProducerCPU, res.Wakeups)
				}
				if res.NsPerRecord(0) <= 0 || res.NsPerWakeup(0) < res.NsPerRecord(0) {
					t.Fatalf("%v ns/record, %v ns/wake-up", res.NsPerRecord(0), res.NsPerWakeup(0))
				}
			})
		}
	}
}

// TestMeasureMemory: a consumer on 4 rings maps at least each ring's data
// pages, and every path's numbers come back.
func TestMeasureMemory(t *testing.T) {
	privileged.Require(t)
	p, err := bench.LoadLive(64, 4, 0, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, path := range bench.LivePaths() {
		m, err := bench.MeasureMemory(p, bench.Config{}, path)
		if err != nil {
			t.Fatal(err)
		}
		if m.MappedBytes < 4*64<<10 || m.Goroutines < 0 {
			t.Errorf("%s: %+v", path, m)
		}
		t.Logf("%s: %+v", path, m)
	}
}
