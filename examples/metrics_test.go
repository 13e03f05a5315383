package examples_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// TestExecsnoopMetrics runs execsnoop -metrics on a port the kernel picks,
// execs a probe binary and scrapes the endpoint with a real HTTP client.
func TestExecsnoopMetrics(t *testing.T) {
	privileged.MountTracefs(t)
	possible, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args               []string
		program, transport string
	}{
		{nil, "ringbuf-reserve-submit", "ringbuf"},
		{[]string{"-transport", "perfbuf"}, "perfbuf-output", "perfbuf"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			r := start(t, "execsnoop", append(tc.args, "-metrics", "127.0.0.1:0")...)
			if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/metrics$`).MatchString(r.url) {
				t.Fatalf("metrics URL %q", r.url)
			}
			const execs = 5
			printed := r.execUntil(uniqueBinary(t), execs)
			fams := r.scrape()
			records, labels := metric(t, fams, "bpfstream_records_total")
			want := fmt.Sprintf("consumer=execsnoop,program=%s,transport=%s", tc.program, tc.transport)
			if labels != want {
				t.Errorf("labels %s, want %s", labels, want)
			}
			// Other processes exec too: at least what was printed.
			if records < float64(printed) || records < execs {
				t.Errorf("bpfstream_records_total %v, but %d events printed (%d execs of the probe)", records, printed, execs)
			}
			if known, _ := metric(t, fams, "bpfstream_lost_known"); known != 1 {
				t.Errorf("bpfstream_lost_known %v", known)
			}
			if b, _ := metric(t, fams, "bpfstream_bytes_total"); b < records*532 {
				t.Errorf("bpfstream_bytes_total %v for %v records of 532 bytes", b, records)
			}
			if n := len(fams["bpfstream_cpu_lost_total"].GetMetric()); tc.transport == "perfbuf" && n != possible || tc.transport == "ringbuf" && n != 0 {
				t.Errorf("%d bpfstream_cpu_lost_total series for %s (%d possible CPUs)", n, tc.transport, possible)
			}
			// A later scrape reads the counters afresh.
			r.execUntil(uniqueBinary(t), 1)
			if again, _ := metric(t, r.scrape(), "bpfstream_records_total"); again <= records {
				t.Errorf("bpfstream_records_total %v after another exec, was %v", again, records)
			}
			r.stop()
		})
	}
}

// TestExampleStats checks the periodic -stats line.
func TestExampleStats(t *testing.T) {
	privileged.MountTracefs(t)
	r := start(t, "ringbuf-output", "-stats", "100ms")
	r.execUntil(uniqueBinary(t), 3)
	time.Sleep(300 * time.Millisecond)
	r.stop()
	line := regexp.MustCompile(`^ringbuf-output: [0-9]+\.[0-9] records/s, ([0-9]+) records, [0-9]+ lost, [0-9]+ bytes pending$`)
	n, last := 0, 0
	for _, l := range r.stderrLines() {
		if m := line.FindStringSubmatch(l); m != nil {
			n++
			records, _ := strconv.Atoi(m[1])
			if records < last {
				t.Errorf("records went down from %d: %q", last, l)
			}
			last = records
		}
	}
	if n < 2 || last < 3 {
		t.Errorf("%d -stats lines in %q, want at least 2, the last with at least 3 records", n, r.stderrLines())
	}
}
