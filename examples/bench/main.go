// Command bench measures bpfstream's consumer paths side by side on the
// in-kernel test producer, as ratios to a hand-written cilium/ebpf loop.
//
//	go run ./examples/bench                      # pure Go paths
//	go run -tags libbpf ./examples/bench         # plus the libbpf C consumer
//	go run ./examples/bench -json -rounds 3 -events 1000000
//
// For every configuration (transport x sample size x wake-up policy) and
// every round, each path reads the same number of samples from a freshly
// loaded producer pinned to CPU 0 while the consumer runs pinned to CPU 1.
// Paths are interleaved within each round, so drift on a shared machine hits
// them alike. The table shows the median and the range of the rounds.
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
	RatioToRaw      float64 `json:"ratio_to_raw"`
	Lost            uint64  `json:"lost"`
	Rounds          int     `json:"rounds"`
	Events          int     `json:"events"` // requested per measurement; see -max-time
	Prefill         bool    `json:"prefill"`
}

type config struct {
	transport string
	size      int
	wakeup    string
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *events < 1 {
		return errors.New("-rounds and -events must be positive")
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
				configs = append(configs, config{tr, size, w})
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

	type key struct {
		c config
		p bench.Path
	}
	samples := map[key][]bench.Result{}
	total := *rounds * len(configs) * len(paths)
	done := 0
	for round := 0; round < *rounds; round++ {
		for _, c := range configs {
			for _, p := range paths {
				cfg := bench.Config{
					Producer: producer.Config{
						Kind:        transports[c.transport],
						SampleSize:  c.size,
						Wakeup:      wakeups[c.wakeup],
						WakeupBytes: *wakeupBytes,
					},
					Events:      *events,
					ProducerCPU: 0,
					ConsumerCPU: 1,
					Prefill:     *prefill,
					MaxDuration: *maxTime,
				}
				res, err := bench.Measure(cfg, p)
				if err != nil {
					return fmt.Errorf("%s/%d/%s/%s: %w", c.transport, c.size, c.wakeup, p, err)
				}
				samples[key{c, p}] = append(samples[key{c, p}], res)
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
		rawMedian := median(rates(samples[key{c, bench.Raw}]))
		for _, p := range paths {
			rs := samples[key{c, p}]
			eps := rates(rs)
			var mallocs, delivered, lost uint64
			for _, r := range rs {
				mallocs += r.Mallocs
				delivered += r.Delivered
				lost += r.Lost
			}
			res := Result{
				Transport: c.transport, Path: string(p), SampleBytes: c.size, Wakeup: c.wakeup,
				EventsPerSec: median(eps), EventsPerSecMin: slices.Min(eps), EventsPerSecMax: slices.Max(eps),
				Lost: lost, Rounds: len(rs), Events: *events, Prefill: *prefill,
			}
			if delivered > 0 {
				res.AllocsPerRecord = float64(mallocs) / float64(delivered)
			}
			if rawMedian > 0 {
				res.RatioToRaw = res.EventsPerSec / rawMedian
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
	fmt.Fprintln(tw, "transport\tbytes\twakeup\tpath\tevents/s (median)\tmin - max\tallocs/record\tx raw\tlost\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s - %s\t%.4f\t%.2f\t%d\t\n", r.Transport, r.SampleBytes, r.Wakeup, r.Path,
			human(r.EventsPerSec), human(r.EventsPerSecMin), human(r.EventsPerSecMax), r.AllocsPerRecord, r.RatioToRaw, r.Lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d rounds of %d events; producer on CPU 0, consumer on CPU 1; prefill=%v\n", *rounds, *events, *prefill)
	return nil
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

func rates(rs []bench.Result) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.EventsPerSec()
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
