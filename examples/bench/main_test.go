package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// TestMain lets the live mode start this test binary as its producer.
func TestMain(m *testing.M) {
	bench.RunProducerChild()
	os.Exit(m.Run())
}

// TestJSON runs the command with tiny numbers and checks every line of its
// JSON output.
func TestJSON(t *testing.T) {
	privileged.Require(t)
	var out, errOut bytes.Buffer
	args := []string{"-json", "-q", "-rounds", "1", "-events", "2000", "-sizes", "16,128",
		"-transports", "ringbuf-reserve,perfbuf", "-wakeups", "adaptive,bytes"}
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "measured as 24") {
		t.Errorf("no note about 16-byte samples measured as 24: %q", errOut.String())
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.Transport == "" || r.Path == "" || r.Wakeup == "" || r.SampleBytes != 24 && r.SampleBytes != 128 {
			t.Errorf("incomplete result %+v", r)
		}
		if r.EventsPerSec <= 0 || r.EventsPerSecMin > r.EventsPerSec || r.EventsPerSec > r.EventsPerSecMax || r.RatioToRaw <= 0 {
			t.Errorf("implausible rates in %+v", r)
		}
		if r.Mode != "e2e" || r.Prefill || r.CoalesceUs != 0 || r.LatencyP99Us != 0 || r.CPUNsPerRecord != 0 {
			t.Errorf("mode or options wrong in %+v", r)
		}
		if r.Path == string(bench.Raw) && r.RatioToRaw != 1 {
			t.Errorf("raw ratio %v", r.RatioToRaw)
		}
		seen[r.Path]++
	}
	// 2 transports x 2 sizes x 2 wake-ups.
	for _, p := range bench.AllPaths() {
		if seen[string(p)] != 8 {
			t.Errorf("path %s: %d results, want 8", p, seen[string(p)])
		}
	}
}

// TestPrefillJSON runs the prefill mode with tiny numbers: every row reports
// its CPU time per record, and the ratios pair the rounds.
func TestPrefillJSON(t *testing.T) {
	privileged.Require(t)
	var out, errOut bytes.Buffer
	paths := "raw,callback,channel-batch"
	if bench.HaveLibbpf {
		paths += ",libbpf"
	}
	args := []string{"-json", "-q", "-prefill", "-rounds", "2", "-events", "5000", "-sizes", "128",
		"-transports", "ringbuf-output,perfbuf", "-wakeups", "adaptive", "-paths", paths}
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	rows := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows++
		if r.Mode != "prefill" || !r.Prefill || r.Rounds != 2 || r.Lost != 0 {
			t.Errorf("wrong row %+v", r)
		}
		if r.CPUNsPerRecord <= 0 || r.RatioToRaw <= 0 {
			t.Errorf("no CPU time or ratio in %+v", r)
		}
		if (r.RatioToLibbpf > 0) != bench.HaveLibbpf || r.Path == string(bench.Libbpf) && r.RatioToLibbpf != 1 {
			t.Errorf("libbpf ratio %v in %+v", r.RatioToLibbpf, r)
		}
	}
	if want := 2 * len(split(paths)); rows != want {
		t.Errorf("%d rows, want %d", rows, want)
	}
}

// TestPairedRatio checks that ratios are taken round by round: a spell that
// slows one round's measurements alike leaves the ratio alone.
func TestPairedRatio(t *testing.T) {
	at := func(rates ...float64) []bench.Result {
		var rs []bench.Result
		for _, r := range rates {
			rs = append(rs, bench.Result{Delivered: uint64(r), Elapsed: time.Second})
		}
		return rs
	}
	// Round 2 is slow for both; the ratio of medians would be 200/90.
	path, base := at(200, 40, 210), at(100, 20, 90)
	if got := pairedRatio(path, base); got != 2 {
		t.Errorf("pairedRatio = %v, want 2", got)
	}
	if got := pairedRatio(path, nil); got != 0 {
		t.Errorf("pairedRatio without a base = %v, want 0", got)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-transports", "nope"},
		{"-sizes", "x"},
		{"-sizes", "100000"},
		{"-wakeups", "sometimes"},
		{"-paths", "nope"},
		{"-rounds", "0"},
		{"-latency", "-prefill"},
		{"-latency", "-rates", "0"},
		{"-latency", "-rates", "fast"},
		{"-latency", "-latency-time", "0s"},
		{"-coalesce", "-1ms"},
		{"-live", "-prefill"},
		{"-live", "-memory"},
		{"-live", "-burst", "0"},
		{"-live", "-rings", "0"},
		{"-live", "-ring-bytes", "1000"},
		{"-live", "-live-time", "0s"},
	} {
		var out, errOut bytes.Buffer
		if err := run(args, &out, &errOut); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if !bench.HaveLibbpf {
		var out, errOut bytes.Buffer
		err := run([]string{"-paths", "libbpf"}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "go run -tags libbpf ./examples/bench") {
			t.Errorf("-paths libbpf without libbpf: %v", err)
		}
	}
}

// TestLatencyJSON runs the latency mode with tiny numbers: every row has the
// mode, the rate, plausible percentiles, and the coalescing rows exist for
// bpfstream's paths only.
func TestLatencyJSON(t *testing.T) {
	privileged.Require(t)
	var out, errOut bytes.Buffer
	args := []string{"-json", "-q", "-latency", "-rounds", "1", "-rates", "2000", "-latency-time", "100ms",
		"-transports", "ringbuf-output", "-coalesce", "1ms", "-paths", "raw,callback,channel-batch"}
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.Mode != "latency" || r.Rate != 2000 || r.SampleBytes != 128 || r.Wakeup != "adaptive" || r.Lost != 0 {
			t.Errorf("wrong row %+v", r)
		}
		if r.LatencyP50Us <= 0 || r.LatencyP99Us < r.LatencyP50Us {
			t.Errorf("implausible latencies in %+v", r)
		}
		seen[fmt.Sprintf("%s/%v", r.Path, r.CoalesceUs)]++
	}
	want := map[string]int{"raw/0": 1, "callback/0": 1, "channel-batch/0": 1, "callback/1000": 1, "channel-batch/1000": 1}
	if !maps.Equal(seen, want) {
		t.Errorf("rows %v, want %v", seen, want)
	}
}

// TestTableColumns checks that the table shows CPU time per record in prefill
// mode only (elsewhere it would count the producer's time too).
func TestTableColumns(t *testing.T) {
	privileged.Require(t)
	for _, prefill := range []bool{false, true} {
		args := []string{"-q", "-rounds", "1", "-events", "2000", "-sizes", "128", "-transports", "ringbuf-output",
			"-wakeups", "adaptive", "-paths", "raw,callback"}
		if prefill {
			args = append(args, "-prefill")
		}
		var out, errOut bytes.Buffer
		if err := run(args, &out, &errOut); err != nil {
			t.Fatalf("run %v: %v\n%s", args, err, errOut.String())
		}
		var header string
		for line := range strings.Lines(out.String()) {
			if strings.Contains(line, "transport") {
				header = line
				break
			}
		}
		if strings.Contains(header, "cpu ns/record") != prefill || !strings.Contains(header, "x libbpf") {
			t.Errorf("prefill=%v: header %q", prefill, header)
		}
	}
}

// TestLiveJSON runs the live mode with tiny numbers: every row parses, the
// records delivered and lost add up to what the producer was asked for, and
// the CPU figures are consistent with each other.
func TestLiveJSON(t *testing.T) {
	privileged.Require(t)
	var out, errOut bytes.Buffer
	args := []string{"-live", "-json", "-q", "-rounds", "2", "-live-time", "100ms", "-rates", "5000", "-rings", "1,4", "-ring-bytes", "65536"}
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r LiveRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r.Mode != "live" || r.Rate != 5000 || r.Burst != 64 || r.SampleBytes != 64 || r.Rounds != 2 || r.CPUMethod == "" {
			t.Errorf("wrong row %+v", r)
		}
		// 5,000/s for 100 ms, twice.
		if r.Expected != 1000 || r.Delivered+r.Lost != r.Expected {
			t.Errorf("%s on %d rings (%d busy): delivered %d + lost %d != expected %d", r.Path, r.Rings, r.BusyRings, r.Delivered, r.Lost, r.Expected)
		}
		if r.Wakeups == 0 || r.Wakeups > r.Delivered {
			t.Errorf("%s: %d wake-ups for %d records", r.Path, r.Wakeups, r.Delivered)
		}
		if r.CPUNsPerRecordMin > r.CPUNsPerRecord || r.CPUNsPerRecord > r.CPUNsPerRecordMax || r.IdleNsPerSec < 0 {
			t.Errorf("%s: cpu ns/record %v not within %v - %v, idle %v", r.Path, r.CPUNsPerRecord, r.CPUNsPerRecordMin, r.CPUNsPerRecordMax, r.IdleNsPerSec)
		}
		if r.Path == string(bench.Raw) && r.CPUNsPerRecord > 0 && r.RatioToRaw != 1 {
			t.Errorf("raw ratio %v", r.RatioToRaw)
		}
		// The producer ran BPF programs for every record: it spent CPU.
		if r.ProducerNsPerRecord <= 0 {
			t.Errorf("%s: producer ns/record %v", r.Path, r.ProducerNsPerRecord)
		}
		if r.Path == string(bench.Libbpf) && r.BothRatioToLibbpf != 1 {
			t.Errorf("libbpf's both-sides ratio %v", r.BothRatioToLibbpf)
		}
		seen[fmt.Sprintf("%d/%d", r.Rings, r.BusyRings)]++
	}
	n := len(bench.LivePaths())
	want := map[string]int{"1/1": n, "4/1": n, "4/4": n}
	if !maps.Equal(seen, want) {
		t.Errorf("rows by rings/busy %v, want %v", seen, want)
	}
}

// TestMemoryJSON runs the memory mode on 1 and 4 rings: each consumer maps
// at least its rings' data pages.
func TestMemoryJSON(t *testing.T) {
	privileged.Require(t)
	var out, errOut bytes.Buffer
	args := []string{"-memory", "-json", "-rings", "1,4", "-ring-bytes", "65536"}
	if err := run(args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	rows := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r MemoryRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows++
		if r.Mode != "memory" || r.RingBytes != 65536 || r.MappedBytes < uint64(r.Rings*r.RingBytes) || r.Goroutines < 0 {
			t.Errorf("wrong row %+v", r)
		}
	}
	if want := 2 * len(bench.LivePaths()); rows != want {
		t.Errorf("%d rows, want %d", rows, want)
	}
}
