package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// Result is one JSON line of the e2e, prefill and latency modes: a
// configuration and path over all rounds.
type Result struct {
	Transport       string  `json:"transport"`
	Path            string  `json:"path"`
	SampleBytes     int     `json:"sample_bytes"`
	Wakeup          string  `json:"wakeup"`
	EventsPerSec    float64 `json:"events_per_sec"`
	EventsPerSecMin float64 `json:"events_per_sec_min"`
	EventsPerSecMax float64 `json:"events_per_sec_max"`
	AllocsPerRecord float64 `json:"allocs_per_record"`
	// RatioToRaw is the median over rounds of the path's rate divided by
	// raw's rate in the same round; RatioToLibbpf the same with libbpf
	// (when measured).
	RatioToRaw    float64 `json:"ratio_to_raw"`
	RatioToLibbpf float64 `json:"ratio_to_libbpf,omitempty"`
	// CPUNsPerRecord is the median over rounds of the process's CPU time
	// per record while the consumer ran (prefill mode only: otherwise the
	// producer's time is in it too).
	CPUNsPerRecord float64 `json:"cpu_ns_per_record,omitempty"`
	Lost           uint64  `json:"lost"`
	Rounds         int     `json:"rounds"`
	Events         int     `json:"events"` // requested per measurement; see -max-time
	Prefill        bool    `json:"prefill"`
	// Mode is "e2e", "prefill" or "latency".
	Mode string `json:"mode"`
	// CoalesceUs is ringbuf.Options.Coalesce in µs; 0: off.
	CoalesceUs    float64 `json:"coalesce_us"`
	WakeupsPerSec float64 `json:"wakeups_per_sec"`
	// Rate is the producer's fixed rate in samples/s (latency mode).
	Rate int `json:"rate,omitempty"`
	// Delivery latency, producer ktime to handler, over all rounds
	// (latency mode).
	LatencyP50Us float64 `json:"latency_p50_us,omitempty"`
	LatencyP99Us float64 `json:"latency_p99_us,omitempty"`
}

type config struct {
	transport string
	size      int
	wakeup    string
	rate      int // latency mode
}

// variant is a path with its options.
type variant struct {
	path     bench.Path
	coalesce time.Duration
}

type key struct {
	c config
	v variant
}

// runFlat runs the e2e, prefill and latency modes.
func runFlat(o *options, stdout, stderr io.Writer) error {
	if !slices.Contains(o.paths, bench.Raw) {
		o.paths = append([]bench.Path{bench.Raw}, o.paths...) // ratios need it
	}
	configs := o.configs()
	samples, err := measureRounds(o, configs, stderr)
	if err != nil {
		return err
	}
	results := summarize(o, configs, samples)
	if o.asJSON {
		return printJSON(stdout, results)
	}
	if o.mode == "latency" {
		return printLatency(o, stdout, results)
	}
	return printRates(o, stdout, results)
}

// configs lists every transport x size x wake-up (x rate in latency mode).
func (o *options) configs() []config {
	rates := []int{0}
	if o.mode == "latency" {
		rates = o.rates
	}
	var configs []config
	for _, tr := range o.transports {
		for _, size := range o.sizes {
			for _, w := range o.wakeups {
				for _, rate := range rates {
					configs = append(configs, config{tr, size, w, rate})
				}
			}
		}
	}
	return configs
}

// variants lists what to measure on c: every path, and the coalescing
// bpfstream paths on ring buffers.
func (o *options) variants(c config) []variant {
	var vs []variant
	for _, p := range o.paths {
		vs = append(vs, variant{p, 0})
	}
	// Coalescing is for adaptive producers: one that forces wake-ups by the
	// data waiting (bytes) sees the held-back record as waiting.
	if o.coalesce > 0 && transports[c.transport].Ringbuf() && c.wakeup == "adaptive" {
		for _, p := range o.paths {
			if p != bench.Raw && p != bench.Libbpf {
				vs = append(vs, variant{p, o.coalesce})
			}
		}
	}
	return vs
}

// events is the samples one measurement of c asks for.
func (o *options) eventsOf(c config) int {
	if c.rate > 0 {
		return max(int(float64(c.rate)*o.latencyTime.Seconds()), 1)
	}
	return o.events
}

// measureRounds measures every variant of every configuration once per
// round, interleaved.
func measureRounds(o *options, configs []config, stderr io.Writer) (map[key][]bench.Result, error) {
	samples := map[key][]bench.Result{}
	total := 0
	for _, c := range configs {
		total += o.rounds * len(o.variants(c))
	}
	progress := newProgress(o.quiet, stderr, total)
	defer progress.end()
	for range o.rounds {
		for _, c := range configs {
			for _, v := range o.variants(c) {
				cfg := bench.Config{
					Producer: producer.Config{
						Kind:        transports[c.transport],
						SampleSize:  c.size,
						Wakeup:      wakeups[c.wakeup],
						WakeupBytes: o.wakeupBytes,
					},
					Events:      o.eventsOf(c),
					ProducerCPU: 0,
					ConsumerCPU: 1,
					Prefill:     o.mode == "prefill",
					MaxDuration: o.maxTime,
					Coalesce:    v.coalesce,
					Rate:        c.rate,
				}
				res, err := bench.Measure(cfg, v.path)
				if err != nil {
					return nil, fmt.Errorf("%s/%d/%s/%s: %w", c.transport, c.size, c.wakeup, v.path, err)
				}
				samples[key{c, v}] = append(samples[key{c, v}], res)
				progress.step()
			}
		}
	}
	return samples, nil
}

// summarize turns each configuration's and variant's rounds into a Result.
func summarize(o *options, configs []config, samples map[key][]bench.Result) []Result {
	var results []Result
	for _, c := range configs {
		raw := samples[key{c, variant{bench.Raw, 0}}]
		libbpf := samples[key{c, variant{bench.Libbpf, 0}}]
		for _, v := range o.variants(c) {
			rs := samples[key{c, v}]
			eps := each(rs, bench.Result.EventsPerSec)
			var mallocs, delivered, lost, wakeups uint64
			var elapsed time.Duration
			var lat []uint64
			for _, r := range rs {
				mallocs += r.Mallocs
				delivered += r.Delivered
				lost += r.Lost
				wakeups += r.Wakeups
				elapsed += r.Elapsed
				lat = append(lat, r.Latencies...)
			}
			res := Result{
				Transport: c.transport, Path: string(v.path), SampleBytes: c.size, Wakeup: c.wakeup,
				EventsPerSec: median(eps), EventsPerSecMin: slices.Min(eps), EventsPerSecMax: slices.Max(eps),
				Lost: lost, Rounds: len(rs), Events: o.eventsOf(c), Prefill: o.mode == "prefill",
				Mode: o.mode, CoalesceUs: micros(v.coalesce), Rate: c.rate,
				RatioToRaw: pairedRatio(rs, raw), RatioToLibbpf: pairedRatio(rs, libbpf),
			}
			if c.rate > 0 {
				res.LatencyP50Us = micros(bench.Percentile(lat, 0.50))
				res.LatencyP99Us = micros(bench.Percentile(lat, 0.99))
			}
			if elapsed > 0 {
				res.WakeupsPerSec = float64(wakeups) / elapsed.Seconds()
			}
			if delivered > 0 {
				res.AllocsPerRecord = float64(mallocs) / float64(delivered)
			}
			if o.mode == "prefill" {
				res.CPUNsPerRecord = median(each(rs, bench.Result.CPUNsPerRecord))
			}
			results = append(results, res)
		}
	}
	return results
}

func printJSON[T any](w io.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func printLatency(o *options, stdout io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tbytes\twakeup\trate/s\tpath\tcoalesce\tp50 µs\tp99 µs\tevents/s\twakeups/s\tlost\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%d\t\n", r.Transport, r.SampleBytes, r.Wakeup, human(float64(r.Rate)),
			r.Path, coalesceName(r.CoalesceUs), r.LatencyP50Us, r.LatencyP99Us, human(r.EventsPerSec), wakeupRate(r), r.Lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d rounds of %s per rate; producer on CPU 0, consumer on CPU 1; mode=%s\n", o.rounds, o.latencyTime, o.mode)
	return nil
}

func printRates(o *options, stdout io.Writer, results []Result) error {
	prefill := o.mode == "prefill"
	// CPU time per record only in prefill mode: otherwise it would count
	// the producer's too.
	cpuHeader := ""
	if prefill {
		cpuHeader = "cpu ns/record\t"
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tbytes\twakeup\tpath\tcoalesce\tevents/s (median)\tmin - max\tallocs/record\t"+cpuHeader+"x raw\tx libbpf\twakeups/s\tlost\t")
	for _, r := range results {
		cpu := ""
		if prefill {
			cpu = optional(r.CPUNsPerRecord, "%.1f") + "\t"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s - %s\t%.4f\t%s%.2f\t%s\t%s\t%d\t\n", r.Transport, r.SampleBytes, r.Wakeup, r.Path, coalesceName(r.CoalesceUs),
			human(r.EventsPerSec), human(r.EventsPerSecMin), human(r.EventsPerSecMax), r.AllocsPerRecord, cpu,
			r.RatioToRaw, optional(r.RatioToLibbpf, "%.2f"), wakeupRate(r), r.Lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	where := "producer on CPU 0, consumer on CPU 1"
	if prefill {
		where = "consumer unpinned"
	}
	fmt.Fprintf(stdout, "%d rounds of %d events; %s; mode=%s\n", o.rounds, o.events, where, o.mode)
	return nil
}
