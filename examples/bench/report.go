package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
)

// pairedRatio is the median over rounds of rs's rate divided by base's rate
// in the same round (0 without base): pairing the rounds keeps a slow spell
// of the machine, which hits the paths measured one after another alike,
// out of the ratio.
func pairedRatio(rs, base []bench.Result) float64 {
	return paired(rs, base, bench.Result.EventsPerSec)
}

// paired is the median over rounds of f of rs divided by f of base in the
// same round (0 without base).
func paired[T any](rs, base []T, f func(T) float64) float64 {
	var ratios []float64
	for i := range min(len(rs), len(base)) {
		if b := f(base[i]); b > 0 {
			ratios = append(ratios, f(rs[i])/b)
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
func each[T any](rs []T, f func(T) float64) []float64 {
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

// progress shows "n/total measurements" on stderr unless quiet.
type progress struct {
	w           io.Writer
	done, total int
}

func newProgress(quiet bool, stderr io.Writer, total int) *progress {
	if quiet {
		stderr = nil
	}
	return &progress{w: stderr, total: total}
}

func (p *progress) step() {
	p.done++
	if p.w != nil {
		fmt.Fprintf(p.w, "\r%d/%d measurements", p.done, p.total)
	}
}

func (p *progress) end() {
	if p.w != nil {
		fmt.Fprintln(p.w)
	}
}
