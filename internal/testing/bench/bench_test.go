package bench_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// TestMeasureEveryPath runs each path once on a small load: every path must
// account for every sample (delivered + lost == attempted is checked inside
// Measure through the goal).
func TestMeasureEveryPath(t *testing.T) {
	privileged.Require(t)
	for _, kind := range []producer.Kind{producer.RingbufOutput, producer.RingbufReserve, producer.Perf} {
		for _, wake := range []producer.Wakeup{producer.WakeupAdaptive, producer.WakeupBytes} {
			for _, path := range bench.AllPaths() {
				for _, prefill := range []bool{false, true} {
					name := fmt.Sprintf("%v/%v/%s/prefill=%v", kind, wake, path, prefill)
					t.Run(name, func(t *testing.T) {
						cfg := bench.Config{
							Producer:    producer.Config{Kind: kind, SampleSize: 128, Wakeup: wake, WakeupBytes: 16 << 10},
							Events:      20_000,
							ConsumerCPU: 1 % runtime.NumCPU(),
							Prefill:     prefill,
						}
						res, err := bench.Measure(cfg, path)
						if err != nil {
							t.Fatal(err)
						}
						if res.Delivered+res.Lost < 20_000 {
							t.Fatalf("delivered %d + lost %d < produced 20000", res.Delivered, res.Lost)
						}
						if prefill && res.Lost != 0 {
							t.Fatalf("prefill lost %d samples", res.Lost)
						}
						if res.CPU <= 0 || res.CPUNsPerRecord() <= 0 {
							t.Fatalf("CPU time %v for %d records", res.CPU, res.Delivered)
						}
					})
				}
			}
		}
	}
}

// benchmarkPaths measures every path on the same producer configuration,
// b.N samples per run, reporting events/s and allocations per record.
func benchmarkPaths(b *testing.B, pcfg producer.Config, prefill bool) {
	privileged.Require(b)
	for _, path := range bench.AllPaths() {
		b.Run(string(path), func(b *testing.B) {
			cfg := bench.Config{Producer: pcfg, Events: max(b.N, 1000), ConsumerCPU: 1 % runtime.NumCPU(), Prefill: prefill}
			res, err := bench.Measure(cfg, path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.EventsPerSec(), "events/s")
			b.ReportMetric(res.AllocsPerRecord(), "allocs/record")
			b.ReportMetric(res.CPUNsPerRecord(), "cpu-ns/record")
			b.ReportMetric(float64(res.Lost), "lost")
		})
	}
}

func BenchmarkRingbufReserve(b *testing.B) {
	benchmarkPaths(b, producer.Config{Kind: producer.RingbufReserve, SampleSize: 128}, false)
}

func BenchmarkRingbufOutput(b *testing.B) {
	benchmarkPaths(b, producer.Config{Kind: producer.RingbufOutput, SampleSize: 128}, false)
}

func BenchmarkPerfbuf(b *testing.B) {
	benchmarkPaths(b, producer.Config{Kind: producer.Perf, SampleSize: 128}, false)
}

// BenchmarkDrain* pre-fill the buffer so that only the consumer is timed.
func BenchmarkDrainRingbuf(b *testing.B) {
	benchmarkPaths(b, producer.Config{Kind: producer.RingbufReserve, SampleSize: 128}, true)
}

func BenchmarkDrainPerfbuf(b *testing.B) {
	benchmarkPaths(b, producer.Config{Kind: producer.Perf, SampleSize: 128}, true)
}

// TestMeasureLatency: at a fixed rate every path records one latency per
// record delivered, each positive and below the run's length, and a
// coalescing consumer delivers everything too.
func TestMeasureLatency(t *testing.T) {
	privileged.Require(t)
	for _, kind := range []producer.Kind{producer.RingbufOutput, producer.Perf} {
		for _, path := range bench.AllPaths() {
			for _, coalesce := range []time.Duration{0, time.Millisecond} {
				t.Run(fmt.Sprintf("%v/%s/coalesce=%s", kind, path, coalesce), func(t *testing.T) {
					cfg := bench.Config{
						Producer:    producer.Config{Kind: kind, SampleSize: 128},
						Events:      400,
						Rate:        4000,
						Coalesce:    coalesce,
						ConsumerCPU: 1 % runtime.NumCPU(),
					}
					res, err := bench.Measure(cfg, path)
					if err != nil {
						t.Fatal(err)
					}
					if res.Delivered+res.Lost != 400 || uint64(len(res.Latencies)) != res.Delivered {
						t.Fatalf("delivered %d, lost %d, %d latencies", res.Delivered, res.Lost, len(res.Latencies))
					}
					for _, ns := range res.Latencies {
						if ns == 0 || time.Duration(ns) > res.Elapsed {
							t.Fatalf("latency %s in a run of %s", time.Duration(ns), res.Elapsed)
						}
					}
					t.Logf("p50 %s p99 %s", bench.Percentile(res.Latencies, 0.5), bench.Percentile(res.Latencies, 0.99))
				})
			}
		}
	}
}
