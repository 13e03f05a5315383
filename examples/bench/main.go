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
// Two more modes answer what an agent pays rather than how fast a path can
// go:
//
//   - live (-live): the producer runs at fixed rates (-rates, default 1k,
//     10k, 100k and 1M records/s) in bursts (-burst records per test run,
//     paced by clock_nanosleep to absolute deadlines) for -live-time, into
//     -rings ring buffers (1, 16, 128, 1024 by default), with one ring busy
//     and with all of them busy. The producer is a process of its own (this
//     executable, started again) pinned to CPU 0; every thread of the
//     consumer's process is pinned to CPU 1. The table shows the consumer's
//     CPU time per record and per wake-up: the consumer process's CPU time
//     (getrusage RUSAGE_SELF) from the producer's start to the last
//     record's delivery (the consumer's own start and end are outside),
//     less an idle baseline measured the same way with no consumer (the
//     idle column). Wake-ups are Stats.Wakeups for bpfstream's paths, the
//     reads that emptied a ring for raw, the polls that found data for
//     libbpf. On several rings raw reads each ring with a cilium/ebpf
//     reader and a goroutine of its own (that library has one reader per
//     ring), bpfstream's paths use one ringbuf.NewMulti consumer, and
//     libbpf one ring_buffer with ring_buffer__add.
//   - memory (-memory): what a consumer on -rings ring buffers (1, 128,
//     1024 by default) holds while it waits: the bytes of BPF maps it
//     mapped, the Go heap it added and the goroutines it started.
//
// For example:
//
//	go run -tags libbpf ./examples/bench -live -rounds 3
//	go run -tags libbpf ./examples/bench -memory
//
// It needs BPF privileges (root, or CAP_BPF and CAP_PERFMON).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

func main() {
	bench.RunProducerChild() // when started as the live mode's producer
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

// options are the parsed flags.
type options struct {
	mode        string // e2e, prefill, latency, live or memory
	rounds      int
	events      int
	asJSON      bool
	quiet       bool
	transports  []string
	sizes       []int
	wakeups     []string
	wakeupBytes int
	paths       []bench.Path
	maxTime     time.Duration
	coalesce    time.Duration
	rates       []int
	latencyTime time.Duration
	liveTime    time.Duration
	burst       int
	rings       []int
	ringBytes   int
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if runtime.NumCPU() < 2 {
		return errors.New("needs two CPUs: the producer runs on CPU 0, the consumer on CPU 1")
	}
	if !bench.HaveLibbpf && !o.asJSON {
		fmt.Fprintln(stdout, "note: libbpf path not measured:", bench.ErrNoLibbpf)
	}
	switch o.mode {
	case "live":
		return runLive(o, stdout, stderr)
	case "memory":
		return runMemory(o, stdout)
	}
	return runFlat(o, stdout, stderr)
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.IntVar(&o.rounds, "rounds", 5, "rounds; each runs every path once per configuration")
	fs.IntVar(&o.events, "events", 1_000_000, "samples per measurement")
	fs.BoolVar(&o.asJSON, "json", false, "print one JSON object per configuration and path instead of a table")
	transportList := fs.String("transports", strings.Join(transportOrder, ","), "transports to measure")
	sizeList := fs.String("sizes", "24,128,532", "sample sizes in bytes (16 means 24: the producer's header is 24 bytes); live: 64")
	wakeupList := fs.String("wakeups", "adaptive,bytes", "wake-up policies: adaptive, bytes")
	fs.IntVar(&o.wakeupBytes, "wakeup-bytes", 16<<10, "threshold of the bytes policy")
	pathList := fs.String("paths", "", "paths to measure (default: all this build has; live and memory: raw, callback, batch-callback, channel-borrow, libbpf)")
	prefill := fs.Bool("prefill", false, "produce everything before the consumer starts (buffers sized to hold it), timing only the consumer")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.DurationVar(&o.maxTime, "max-time", 100*time.Millisecond, "stop producing after this long in one measurement (0: produce all -events)")
	fs.DurationVar(&o.coalesce, "coalesce", 0, "also measure bpfstream's ringbuf paths with this ringbuf.Options.Coalesce (0: no)")
	latency := fs.Bool("latency", false, "latency mode: fixed producer rates (-rates), delivery latency p50/p99")
	live := fs.Bool("live", false, "live mode: fixed producer rates (-rates) in bursts, consumer CPU per record and per wake-up")
	memory := fs.Bool("memory", false, "memory mode: what a consumer on -rings rings holds")
	rateList := fs.String("rates", "1000,100000", "latency and live modes: producer rates in samples/s (live: 1000,10000,100000,1000000)")
	fs.DurationVar(&o.latencyTime, "latency-time", time.Second, "latency mode: how long each measurement produces")
	fs.DurationVar(&o.liveTime, "live-time", 2*time.Second, "live mode: how long each measurement produces")
	fs.IntVar(&o.burst, "burst", 64, "live mode: records per burst")
	ringList := fs.String("rings", "1,16,128,1024", "live and memory modes: ring buffer counts (memory: 1,128,1024)")
	fs.IntVar(&o.ringBytes, "ring-bytes", 256<<10, "live and memory modes: bytes per ring buffer")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	defaults := func(name string, v *string, value string) {
		if !set[name] {
			*v = value
		}
	}
	if o.rounds < 1 || o.events < 1 {
		return nil, errors.New("-rounds and -events must be positive")
	}
	if o.coalesce < 0 {
		return nil, errors.New("-coalesce must not be negative")
	}
	var modes []string
	for name, on := range map[string]bool{"prefill": *prefill, "latency": *latency, "live": *live, "memory": *memory} {
		if on {
			modes = append(modes, name)
		}
	}
	switch len(modes) {
	case 0:
		o.mode = "e2e"
	case 1:
		o.mode = modes[0]
	default:
		slices.Sort(modes)
		return nil, fmt.Errorf("-%s exclude each other", strings.Join(modes, " and -"))
	}
	switch o.mode {
	case "latency":
		defaults("sizes", sizeList, "128")
		defaults("wakeups", wakeupList, "adaptive")
		defaults("paths", pathList, joinPaths(append([]bench.Path{bench.Raw, bench.Callback, bench.ChannelBatch}, libbpfPath()...)))
	case "live", "memory":
		defaults("sizes", sizeList, "64")
		defaults("paths", pathList, joinPaths(bench.LivePaths()))
		defaults("rates", rateList, "1000,10000,100000,1000000")
		if o.mode == "memory" {
			defaults("rings", ringList, "1,128,1024")
		}
	}
	var err error
	if o.sizes, err = parseSizes(*sizeList, stderr); err != nil {
		return nil, err
	}
	if o.transports, err = parseNames("-transports", *transportList, transports); err != nil {
		return nil, err
	}
	if o.wakeups, err = parseNames("-wakeups", *wakeupList, wakeups); err != nil {
		return nil, err
	}
	if o.paths, err = parsePaths(*pathList); err != nil {
		return nil, err
	}
	if o.rates, err = parseInts("-rates", *rateList, 1, 10_000_000); err != nil {
		return nil, err
	}
	if o.rings, err = parseInts("-rings", *ringList, 1, 1<<16); err != nil {
		return nil, err
	}
	if o.latencyTime <= 0 || o.liveTime <= 0 {
		return nil, errors.New("-latency-time and -live-time must be positive")
	}
	if o.burst < 1 || o.ringBytes < os.Getpagesize() || o.ringBytes&(o.ringBytes-1) != 0 {
		return nil, errors.New("-burst must be positive, -ring-bytes a power of two of at least a page")
	}
	return o, nil
}

func libbpfPath() []bench.Path {
	if bench.HaveLibbpf {
		return []bench.Path{bench.Libbpf}
	}
	return nil
}

func joinPaths(ps []bench.Path) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}

func parseSizes(list string, stderr io.Writer) ([]int, error) {
	var sizes []int
	for _, s := range split(list) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("-sizes: %w", err)
		}
		if n < producer.HeaderSize {
			fmt.Fprintf(stderr, "bench: size %d measured as %d: every test-producer sample starts with a %d-byte header\n", n, producer.HeaderSize, producer.HeaderSize)
			n = producer.HeaderSize
		}
		if n > producer.MaxSample {
			return nil, fmt.Errorf("-sizes: %d is above the producer's maximum %d", n, producer.MaxSample)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

func parseNames[V any](flagName, list string, known map[string]V) ([]string, error) {
	var names []string
	for _, s := range split(list) {
		if _, ok := known[s]; !ok {
			return nil, fmt.Errorf("%s: unknown %q", flagName, s)
		}
		names = append(names, s)
	}
	return names, nil
}

func parseInts(flagName, list string, lo, hi int) ([]int, error) {
	var out []int
	for _, s := range split(list) {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("%s: %q is not a number from %d to %d", flagName, s, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// parsePaths returns the paths of list, every path this build has when
// empty.
func parsePaths(list string) ([]bench.Path, error) {
	if list == "" {
		return bench.AllPaths(), nil
	}
	var paths []bench.Path
	for _, p := range split(list) {
		path := bench.Path(p)
		if path == bench.Libbpf && !bench.HaveLibbpf {
			return nil, bench.ErrNoLibbpf
		}
		if !slices.Contains(bench.AllPaths(), path) {
			return nil, fmt.Errorf("-paths: unknown %q", p)
		}
		paths = append(paths, path)
	}
	return paths, nil
}
