package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/ringbuf"
)

// cpuMethod says how the live mode measures the consumer's CPU time.
const cpuMethod = "the consumer process's CPU time (getrusage RUSAGE_SELF; the producer is a process of its own) from the producer's start to the last record's delivery, minus the idle baseline"

// LiveRow is one JSON line of the live mode: a rate, ring setup and path over
// all rounds.
type LiveRow struct {
	Mode        string `json:"mode"` // "live"
	Path        string `json:"path"`
	Rate        int    `json:"rate"` // records/s
	Burst       int    `json:"burst"`
	SampleBytes int    `json:"sample_bytes"`
	Rings       int    `json:"rings"`
	BusyRings   int    `json:"busy_rings"`
	Rounds      int    `json:"rounds"`
	// Expected is what the producer was asked to emit over all rounds;
	// Delivered + Lost add up to it.
	Expected  uint64 `json:"expected"`
	Delivered uint64 `json:"delivered"`
	Lost      uint64 `json:"lost"`
	Wakeups   uint64 `json:"wakeups"`
	// CPUNsPerRecord is the median over rounds of the consumer's CPU time
	// per record (see CPUMethod), with the range of the rounds.
	CPUNsPerRecord    float64 `json:"cpu_ns_per_record"`
	CPUNsPerRecordMin float64 `json:"cpu_ns_per_record_min"`
	CPUNsPerRecordMax float64 `json:"cpu_ns_per_record_max"`
	// CPUNsPerWakeup is the median over rounds of the same per wake-up.
	CPUNsPerWakeup float64 `json:"cpu_ns_per_wakeup"`
	// RatioToLibbpf and RatioToRaw are medians over rounds of CPU per
	// record divided by libbpf's (raw's) in the same round.
	RatioToLibbpf float64 `json:"ratio_to_libbpf,omitempty"`
	RatioToRaw    float64 `json:"ratio_to_raw,omitempty"`
	// ThreadNsPerRecord is the median over rounds of the CPU time of the
	// consumer's own thread per record, for the paths that read on one
	// thread (bench.ThreadPath; 0 for the others), and ThreadRatioToLibbpf
	// the median of it divided by libbpf's in the same round: the reader's
	// cost without the Go runtime's other threads, the harness and the
	// idle baseline's noise.
	ThreadNsPerRecord   float64 `json:"thread_ns_per_record,omitempty"`
	ThreadRatioToLibbpf float64 `json:"thread_ratio_to_libbpf,omitempty"`
	// ProducerNsPerRecord is the median over rounds of the producer
	// process's CPU time per record it emitted: the producer pays for the
	// wake-ups a reader needs (the kernel's irq_work and remote wake-up on
	// the committing CPU), and in an agent the producer is the traced
	// workload. BothRatioToLibbpf is the median of consumer plus producer
	// CPU per record divided by the same for libbpf in the same round.
	ProducerNsPerRecord float64 `json:"producer_ns_per_record"`
	BothRatioToLibbpf   float64 `json:"both_ratio_to_libbpf,omitempty"`
	// IdleNsPerSec is the median idle baseline subtracted: the process's
	// CPU time with the producer running and no consumer, per second.
	IdleNsPerSec float64 `json:"idle_ns_per_sec"`
	CPUMethod    string  `json:"cpu_method"`
}

// liveVariant is a path with ringbuf options of its own, if any: measuring a
// path with an option (ringbuf.Options.Coalesce here, any later option the
// same way) is one more entry with ringbuf set.
type liveVariant struct {
	name    string
	path    bench.Path
	ringbuf func(*ringbuf.Options)
}

func (o *options) liveVariants() []liveVariant {
	var vs []liveVariant
	for _, p := range o.paths {
		vs = append(vs, liveVariant{name: string(p), path: p})
	}
	if d := o.coalesce; d > 0 {
		for _, p := range o.paths {
			if p != bench.Raw && p != bench.Libbpf {
				vs = append(vs, liveVariant{string(p) + "+coalesce=" + d.String(), p, func(opts *ringbuf.Options) { opts.Coalesce = d }})
			}
		}
	}
	return vs
}

// ringSetup is a number of rings and how many are busy (0: all).
type ringSetup struct{ rings, busy int }

func (o *options) ringSetups() []ringSetup {
	var rs []ringSetup
	for _, n := range o.rings {
		rs = append(rs, ringSetup{n, 1})
		if n > 1 {
			rs = append(rs, ringSetup{n, 0})
		}
	}
	return rs
}

// liveKey names one row; liveRound is one round's measurement of it.
type liveKey struct {
	setup ringSetup
	rate  int
	name  string
}

type liveRound struct {
	res  bench.LiveResult
	idle float64
}

func runLive(o *options, stdout, stderr io.Writer) error {
	size := o.sizes[0]
	variants := o.liveVariants()
	samples := map[liveKey][]liveRound{}
	progress := newProgress(o.quiet, stderr, o.rounds*len(o.ringSetups())*len(o.rates)*(len(variants)+1))
	for range o.rounds {
		for _, setup := range o.ringSetups() {
			if err := measureSetup(o, size, setup, variants, samples, progress); err != nil {
				return err
			}
		}
	}
	progress.end()
	rows := liveRows(o, size, variants, samples)
	if o.asJSON {
		return printJSON(stdout, rows)
	}
	return printLive(o, stdout, rows)
}

// measureSetup measures every rate and variant once on a producer with the
// rings of setup: the idle baseline first, then the paths interleaved.
func measureSetup(o *options, size int, setup ringSetup, variants []liveVariant, samples map[liveKey][]liveRound, progress *progress) error {
	p, err := bench.LoadLive(size, setup.rings, setup.busy, o.ringBytes)
	if err != nil {
		return err
	}
	defer p.Close()
	for _, rate := range o.rates {
		cfg := bench.LiveConfig{Config: bench.Config{ProducerCPU: 0, ConsumerCPU: 1}, Rate: rate, Burst: o.burst, Duration: o.liveTime}
		idle, err := bench.MeasureIdle(p, cfg)
		if err != nil {
			return err
		}
		progress.step()
		for _, v := range variants {
			cfg.Ringbuf = v.ringbuf
			res, err := bench.MeasureLive(p, cfg, v.path)
			if err != nil {
				return fmt.Errorf("%d rings (%d busy), %d/s, %s: %w", setup.rings, setup.busy, rate, v.name, err)
			}
			k := liveKey{setup, rate, v.name}
			samples[k] = append(samples[k], liveRound{res, idle})
			progress.step()
		}
	}
	return nil
}

// liveRows summarizes the rounds of every row.
func liveRows(o *options, size int, variants []liveVariant, samples map[liveKey][]liveRound) []LiveRow {
	perRecord := func(r liveRound) float64 { return r.res.NsPerRecord(r.idle) }
	var rows []LiveRow
	for _, setup := range o.ringSetups() {
		for _, rate := range o.rates {
			libbpf := samples[liveKey{setup, rate, string(bench.Libbpf)}]
			raw := samples[liveKey{setup, rate, string(bench.Raw)}]
			for _, v := range variants {
				rs := samples[liveKey{setup, rate, v.name}]
				busy := setup.busy
				if busy == 0 {
					busy = setup.rings
				}
				row := LiveRow{
					Mode: "live", Path: v.name, Rate: rate, Burst: o.burst, SampleBytes: size,
					Rings: setup.rings, BusyRings: busy, Rounds: len(rs), CPUMethod: cpuMethod,
					Expected: uint64(len(rs)) * uint64(max(int(float64(rate)*o.liveTime.Seconds()), 1)),
				}
				ns := each(rs, perRecord)
				row.CPUNsPerRecord, row.CPUNsPerRecordMin, row.CPUNsPerRecordMax = median(ns), slices.Min(ns), slices.Max(ns)
				row.CPUNsPerWakeup = median(each(rs, func(r liveRound) float64 { return r.res.NsPerWakeup(r.idle) }))
				row.IdleNsPerSec = median(each(rs, func(r liveRound) float64 { return r.idle }))
				row.RatioToLibbpf = paired(rs, libbpf, perRecord)
				row.RatioToRaw = paired(rs, raw, perRecord)
				perThread := func(r liveRound) float64 { return r.res.ThreadNsPerRecord() }
				row.ThreadNsPerRecord = median(each(rs, perThread))
				if row.ThreadNsPerRecord > 0 {
					row.ThreadRatioToLibbpf = paired(rs, libbpf, perThread)
				}
				row.ProducerNsPerRecord = median(each(rs, func(r liveRound) float64 { return r.res.ProducerNsPerRecord() }))
				row.BothRatioToLibbpf = paired(rs, libbpf, func(r liveRound) float64 { return perRecord(r) + r.res.ProducerNsPerRecord() })
				for _, r := range rs {
					row.Delivered += r.res.Delivered
					row.Lost += r.res.Lost
					row.Wakeups += r.res.Wakeups
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}

func printLive(o *options, stdout io.Writer, rows []LiveRow) error {
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate/s\trings\tbusy\tpath\tcpu ns/record\tmin - max\tcpu µs/wake-up\trecords/wake-up\tx raw\tx libbpf\tthread ns/record\tthread x libbpf\tproducer ns/record\tboth x libbpf\tidle µs/s\tlost\t")
	for _, r := range rows {
		perWakeup := "-"
		if r.Wakeups > 0 {
			perWakeup = fmt.Sprintf("%.1f", float64(r.Delivered)/float64(r.Wakeups))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f\t%.0f - %.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%.0f\t%d\t\n",
			human(float64(r.Rate)), r.Rings, r.BusyRings, r.Path, r.CPUNsPerRecord, r.CPUNsPerRecordMin, r.CPUNsPerRecordMax,
			optional(r.CPUNsPerWakeup/1e3, "%.1f"), perWakeup, optional(r.RatioToRaw, "%.2f"), optional(r.RatioToLibbpf, "%.2f"),
			optional(r.ThreadNsPerRecord, "%.0f"), optional(r.ThreadRatioToLibbpf, "%.2f"),
			r.ProducerNsPerRecord, optional(r.BothRatioToLibbpf, "%.2f"), r.IdleNsPerSec/1e3, r.Lost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d rounds of %s per rate; %d-byte records in bursts of %d; %d KiB rings; producer process on CPU 0, every thread of the consumer's on CPU 1; consumer CPU = %s; thread = the CPU time of the thread that reads and handles every record (callback, batch-callback, libbpf); producer = the producer process's CPU time per record emitted; both = consumer plus producer; mode=live\n",
		o.rounds, o.liveTime, o.sizes[0], o.burst, o.ringBytes>>10, cpuMethod)
	return nil
}
