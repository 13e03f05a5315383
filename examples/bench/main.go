// Command bench measures bpfstream's consumer paths side by side on the
// in-kernel test producer, as ratios to a hand-written cilium/ebpf loop.
//
//	go run ./examples/bench                      # pure Go paths
//	go run -tags libbpf ./examples/bench         # plus the libbpf C consumer
//	go run ./examples/bench -json -rounds 3 -events 1000000
//
// For every configuration (transport x sample size x wake-up policy) and
// every round, each path reads the same number of samples from a freshly
// loaded producer pinned to CPU 0 while the consumer runs pinned to CPU 1
// (unpinned in prefill mode, see below). Paths are interleaved within each
// round, so drift on a shared machine hits them alike. The table shows the
// median and the range of the rounds; the ratios (x raw, x libbpf) are the
// median over rounds of each round's ratio, so that a slow spell that hits
// a few measurements in a row does not skew them.
//
// Three modes:
//
//   - e2e (the default): producer and consumer run at once, the producer as
//     fast as it can (up to -max-time per measurement); the rate is what
//     gets through, and wake-ups cost the producer.
//   - prefill (-prefill): everything is produced first, into a buffer that
//     holds it, and only the consumer is timed: consumer cost. The consumer
//     is not pinned, as in an agent: the channel paths run a stream
//     goroutine and a receiver, and locking the receiver to a pinned thread
//     would turn each hand-over into a switch of OS threads. Those two
//     goroutines may use both CPUs, so the cpu ns/record column (the
//     process's CPU time per record) gives each path's cost in CPU time
//     next to its rate.
//   - latency (-latency): the producer runs at fixed rates (-rates, samples
//     per second, paced by a 1 ms ticker: 1 sample per tick at 1,000/s, 100
//     at 100,000/s) for -latency-time, and every path records each record's
//     delivery latency, from the producer's bpf_ktime_get_ns to the handler
//     (both CLOCK_MONOTONIC); the table shows p50 and p99 over all rounds.
//     Its defaults are -sizes 128, -wakeups adaptive and the paths raw,
//     callback, channel-batch and libbpf.
//
// -coalesce d also measures bpfstream's paths on ring buffers with
// ringbuf.Options.Coalesce = d (wake-up coalescing), as extra rows; raw and
// libbpf have no such option, and perfbuf's counterpart is a wake-up
// threshold with a drain timer, which the bytes policy measures.
//
//	go run ./examples/bench -wakeups adaptive -transports ringbuf-output -coalesce 1ms
//	go run -tags libbpf ./examples/bench -latency -coalesce 1ms -rounds 3
//
// The wakeups/s column is the consumer's Stats.Wakeups (drains that found
// data) per second, bpfstream paths only.
//
// It needs BPF privileges (root, or CAP_BPF and CAP_PERFMON).
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// transports maps the -transports names to producer kinds.
var transports = map[string]producer.Kind{
	"ringbuf-output":  producer.RingbufOutput,
	"ringbuf-reserve": producer.RingbufReserve,
	"perfbuf":         producer.Perf,
}

var transportOrder = []string{"ringbuf-output", "ringbuf-reserve", "perfbuf"}

// wakeups maps the -wakeups names to producer policies. "bytes" forces a
// wake-up once -wakeup-bytes are waiting (ringbuf: BPF_RB_FORCE_WAKEUP, else
// BPF_RB_NO_WAKEUP, plus a 5 ms drain timer in the consumer; perfbuf: the
// perf watermark).
var wakeups = map[string]producer.Wakeup{
	"adaptive": producer.WakeupAdaptive,
	"bytes":    producer.WakeupBytes,
}

// Result is one JSON line: a configuration and path over all rounds.
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

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 5, "rounds; each runs every path once per configuration")
	events := fs.Int("events", 1_000_000, "samples per measurement")
	asJSON := fs.Bool("json", false, "print one JSON object per configuration and path instead of a table")
	transportList := fs.String("transports", strings.Join(transportOrder, ","), "transports to measure")
	sizeList := fs.String("sizes", "24,128,532", "sample sizes in bytes (16 means 24: the producer's header is 24 bytes)")
	wakeupList := fs.String("wakeups", "adaptive,bytes", "wake-up policies: adaptive, bytes")
	wakeupBytes := fs.Int("wakeup-bytes", 16<<10, "threshold of the bytes policy")
	pathList := fs.String("paths", "", "paths to measure (default: all this build has)")
	prefill := fs.Bool("prefill", false, "produce everything before the consumer starts (buffers sized to hold it), timing only the consumer")
	quiet := fs.Bool("q", false, "no progress on stderr")
	maxTime := fs.Duration("max-time", 100*time.Millisecond, "stop producing after this long in one measurement (0: produce all -events)")
	coalesce := fs.Duration("coalesce", 0, "also measure bpfstream's ringbuf paths with this ringbuf.Options.Coalesce (0: no)")
	latency := fs.Bool("latency", false, "latency mode: fixed producer rates (-rates), delivery latency p50/p99")
	rateList := fs.String("rates", "1000,100000", "latency mode: producer rates in samples/s")
	latencyTime := fs.Duration("latency-time", time.Second, "latency mode: how long each measurement produces")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *events < 1 {
		return errors.New("-rounds and -events must be positive")
	}
	if *coalesce < 0 {
		return errors.New("-coalesce must not be negative")
	}
	mode := "e2e"
	switch {
	case *latency && *prefill:
		return errors.New("-latency and -prefill exclude each other")
	case *latency:
		mode = "latency"
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["sizes"] {
			*sizeList = "128"
		}
		if !set["wakeups"] {
			*wakeupList = "adaptive"
		}
		if !set["paths"] {
			*pathList = "raw,callback,channel-batch"
			if bench.HaveLibbpf {
				*pathList += ",libbpf"
			}
		}
	case *prefill:
		mode = "prefill"
	}
	rates := []int{0}
	if *latency {
		rates = nil
		for _, s := range split(*rateList) {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 10_000_000 {
				return fmt.Errorf("-rates: %q is not a rate from 1 to 10000000", s)
			}
			rates = append(rates, n)
		}
		if *latencyTime <= 0 {
			return errors.New("-latency-time must be positive")
		}
	}
	if runtime.NumCPU() < 2 {
		return errors.New("needs two CPUs: the producer runs on CPU 0, the consumer on CPU 1")
	}

	var configs []config
	var sizes []int
	for _, s := range split(*sizeList) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		if n < producer.HeaderSize {
			fmt.Fprintf(stderr, "bench: size %d measured as %d: every test-producer sample starts with a %d-byte header\n", n, producer.HeaderSize, producer.HeaderSize)
			n = producer.HeaderSize
		}
		if n > producer.MaxSample {
			return fmt.Errorf("-sizes: %d is above the producer's maximum %d", n, producer.MaxSample)
		}
		sizes = append(sizes, n)
	}
	for _, tr := range split(*transportList) {
		if _, ok := transports[tr]; !ok {
			return fmt.Errorf("-transports: unknown %q (want %s)", tr, strings.Join(transportOrder, ", "))
		}
		for _, size := range sizes {
			for _, w := range split(*wakeupList) {
				if _, ok := wakeups[w]; !ok {
					return fmt.Errorf("-wakeups: unknown %q (want adaptive, bytes)", w)
				}
				for _, rate := range rates {
					configs = append(configs, config{tr, size, w, rate})
				}
			}
		}
	}
	paths := bench.AllPaths()
	if *pathList != "" {
		paths = nil
		for _, p := range split(*pathList) {
			path := bench.Path(p)
			if path == bench.Libbpf && !bench.HaveLibbpf {
				return bench.ErrNoLibbpf
			}
			if !slices.Contains(bench.AllPaths(), path) {
				return fmt.Errorf("-paths: unknown %q", p)
			}
			paths = append(paths, path)
		}
	}
	if !bench.HaveLibbpf && !*asJSON {
		fmt.Fprintln(stdout, "note: libbpf path not measured:", bench.ErrNoLibbpf)
	}
	if !slices.Contains(paths, bench.Raw) {
		paths = append([]bench.Path{bench.Raw}, paths...) // ratios need it
	}
	// variants lists what to measure on c: every path, and the coalescing
	// bpfstream paths on ring buffers.
	variants := func(c config) []variant {
		var vs []variant
		for _, p := range paths {
			vs = append(vs, variant{p, 0})
		}
		// Coalescing is for adaptive producers: one that forces wake-ups by
		// the data waiting (bytes) sees the held-back record as waiting.
		if *coalesce > 0 && transports[c.transport].Ringbuf() && c.wakeup == "adaptive" {
			for _, p := range paths {
				if p != bench.Raw && p != bench.Libbpf {
					vs = append(vs, variant{p, *coalesce})
				}
			}
		}
		return vs
	}

	type key struct {
		c config
		v variant
	}
	samples := map[key][]bench.Result{}
	total := 0
	for _, c := range configs {
		total += *rounds * len(variants(c))
	}
	done := 0
	for round := 0; round < *rounds; round++ {
		for _, c := range configs {
			for _, v := range variants(c) {
				n := *events
				if c.rate > 0 {
					n = max(int(float64(c.rate)*latencyTime.Seconds()), 1)
				}
				cfg := bench.Config{
					Producer: producer.Config{
						Kind:        transports[c.transport],
						SampleSize:  c.size,
						Wakeup:      wakeups[c.wakeup],
						WakeupBytes: *wakeupBytes,
					},
					Events:      n,
					ProducerCPU: 0,
					ConsumerCPU: 1,
					Prefill:     *prefill,
					MaxDuration: *maxTime,
					Coalesce:    v.coalesce,
					Rate:        c.rate,
				}
				res, err := bench.Measure(cfg, v.path)
				if err != nil {
					return fmt.Errorf("%s/%d/%s/%s: %w", c.transport, c.size, c.wakeup, v.path, err)
				}
				samples[key{c, v}] = append(samples[key{c, v}], res)
				done++
				if !*quiet {
					fmt.Fprintf(stderr, "\r%d/%d measurements", done, total)
				}
			}
		}
	}
	if !*quiet {
		fmt.Fprintln(stderr)
	}

	var results []Result
	for _, c := range configs {
		raw := samples[key{c, variant{bench.Raw, 0}}]
		libbpf := samples[key{c, variant{bench.Libbpf, 0}}]
		for _, v := range variants(c) {
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
				Lost: lost, Rounds: len(rs), Events: *events, Prefill: *prefill,
				Mode: mode, CoalesceUs: micros(v.coalesce), Rate: c.rate,
			}
			if c.rate > 0 {
				res.Events = max(int(float64(c.rate)*latencyTime.Seconds()), 1)
				res.LatencyP50Us = micros(bench.Percentile(lat, 0.50))
				res.LatencyP99Us = micros(bench.Percentile(lat, 0.99))
			}
			if elapsed > 0 {
				res.WakeupsPerSec = float64(wakeups) / elapsed.Seconds()
			}
			if delivered > 0 {
				res.AllocsPerRecord = float64(mallocs) / float64(delivered)
			}
			res.RatioToRaw = pairedRatio(rs, raw)
			res.RatioToLibbpf = pairedRatio(rs, libbpf)
			if *prefill {
				res.CPUNsPerRecord = median(each(rs, bench.Result.CPUNsPerRecord))
			}
			results = append(results, res)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	if *latency {
		fmt.Fprintln(tw, "transport\tbytes\twakeup\trate/s\tpath\tcoalesce\tp50 µs\tp99 µs\tevents/s\twakeups/s\tlost\t")
		for _, r := range results {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%d\t\n", r.Transport, r.SampleBytes, r.Wakeup, human(float64(r.Rate)),
				r.Path, coalesceName(r.CoalesceUs), r.LatencyP50Us, r.LatencyP99Us, human(r.EventsPerSec), wakeupRate(r), r.Lost)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d rounds of %s per rate; producer on CPU 0, consumer on CPU 1; mode=%s\n", *rounds, *latencyTime, mode)
		return nil
	}
	// CPU time per record only in prefill mode: otherwise it would count
	// the producer's too.
	cpuHeader := ""
	if *prefill {
		cpuHeader = "cpu ns/record\t"
	}
	fmt.Fprintln(tw, "transport\tbytes\twakeup\tpath\tcoalesce\tevents/s (median)\tmin - max\tallocs/record\t"+cpuHeader+"x raw\tx libbpf\twakeups/s\tlost\t")
	for _, r := range results {
		cpu := ""
		if *prefill {
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
	if *prefill {
		where = "consumer unpinned"
	}
	fmt.Fprintf(stdout, "%d rounds of %d events; %s; mode=%s\n", *rounds, *events, where, mode)
	return nil
}

// pairedRatio is the median over rounds of rs's rate divided by base's rate
// in the same round (0 without base): pairing the rounds keeps a slow spell
// of the machine, which hits the paths measured one after another alike,
// out of the ratio.
func pairedRatio(rs, base []bench.Result) float64 {
	var ratios []float64
	for i := range min(len(rs), len(base)) {
		if b := base[i].EventsPerSec(); b > 0 {
			ratios = append(ratios, rs[i].EventsPerSec()/b)
		}
	}
	return median(ratios)
}

// optional formats x, or "-" when it was not measured (0).
func optional(x float64, format string) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf(format, x)
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func coalesceName(us float64) string {
	if us == 0 {
		return "-"
	}
	return time.Duration(us * float64(time.Microsecond)).String()
}

// wakeupRate shows the wake-ups per second of paths that report them.
func wakeupRate(r Result) string {
	if r.Path == string(bench.Raw) || r.Path == string(bench.Libbpf) {
		return "-"
	}
	return human(r.WakeupsPerSec)
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// each returns f of every result, in order.
func each(rs []bench.Result, f func(bench.Result) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func human(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
