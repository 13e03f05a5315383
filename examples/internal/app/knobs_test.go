package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestKnobErrors: bad buffer and wake-up flags exit with status 2 and one
// line naming the flag, before anything is loaded. Fixed programs make the
// check independent of the kernel (auto probes it).
func TestKnobErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    bpf.Program
		args []string
		msg  string
	}{
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-ring-size", "8K"}, "-ring-size does not apply to perfbuf-output, which reads a BPF perf event array"},
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-wakeup", "never"}, "-wakeup does not apply to perfbuf-output"},
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-wakeup-bytes", "1K"}, "-wakeup-bytes does not apply"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-perf-buffer", "8K"}, "-perf-buffer does not apply to ringbuf-output, which reads a BPF ring buffer"},
		{"execsnoop", bpf.Auto, []string{"-transport", "ringbuf-reserve-submit", "-wakeup-events", "2"}, "-wakeup-events does not apply to ringbuf-reserve-submit"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-ring-size", "5000"}, "RingBytes 5000 must be a power of two and a multiple of the page size"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-ring-size", "12x"}, `invalid value "12x" for flag -ring-size`},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-ring-size", "4G"}, "want bytes up to 2G"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-wakeup", "sometimes"}, `unknown -wakeup "sometimes"`},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-wakeup", "bytes"}, "the bytes wake-up policy needs a positive threshold"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-wakeup-bytes", "1K"}, "a wake-up threshold of 1024 bytes needs the bytes policy, not adaptive"},
		{"ringbuf-output", bpf.RingbufOutput, []string{"-wakeup", "bytes", "-wakeup-bytes", "8K", "-ring-size", "8K"}, "-wakeup-bytes 8K must be below the ring size 8192"},
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-wakeup-events", "-1"}, "negative -wakeup-events"},
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-drain-interval", "-1s"}, "negative -drain-interval"},
		{"perfbuf-output", bpf.PerfbufOutput, []string{"-stats", "-1s"}, "negative -stats"},
	} {
		var stdout, stderr bytes.Buffer
		if got := Run(tc.name, tc.p, tc.p == bpf.Auto, tc.args, &stdout, &stderr); got != 2 {
			t.Errorf("%s %v: status %d, want 2 (stderr %q)", tc.name, tc.args, got, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%s %v: stderr %q, want %q", tc.name, tc.args, stderr.String(), tc.msg)
		}
	}
}

// TestHelpNamesTransport: -h says what each example reads.
func TestHelpNamesTransport(t *testing.T) {
	for _, tc := range []struct {
		p    bpf.Program
		want string
	}{
		{bpf.PerfbufOutput, "Reads a BPF perf event array (perfbuf)"},
		{bpf.RingbufOutput, "Reads a BPF ring buffer (ringbuf) filled with bpf_ringbuf_output"},
		{bpf.RingbufReserveSubmit, "Reads a BPF ring buffer (ringbuf) filled in place"},
		{bpf.Auto, "Reads the program chosen with -transport"},
	} {
		var stderr bytes.Buffer
		if got := Run("x", tc.p, tc.p == bpf.Auto, []string{"-h"}, &bytes.Buffer{}, &stderr); got != 0 {
			t.Errorf("%s -h: status %d", tc.p, got)
		}
		for _, want := range []string{tc.want, "-ring-size", "-perf-buffer", "-wakeup-events", "-metrics ADDR", "-stats D"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%s -h does not say %q:\n%s", tc.p, want, stderr.String())
			}
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want byteSize
		str  string
	}{
		{"4096", 4096, "4K"}, {"8K", 8 << 10, "8K"}, {"3M", 3 << 20, "3M"}, {"1G", 1 << 30, "1G"}, {"2G", 2 << 30, "2G"}, {"1000", 1000, "1000"},
	} {
		var b byteSize
		if err := b.Set(tc.in); err != nil || b != tc.want || b.String() != tc.str {
			t.Errorf("Set(%q): %d %q %v, want %d %q", tc.in, b, b.String(), err, tc.want, tc.str)
		}
	}
	for _, in := range []string{"", "K", "-1", "1.5M", "3G", "8k", "1T", "99999999999"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, b)
		}
	}
}

func TestStatsLine(t *testing.T) {
	prev := transport.Stats{Records: 100, LostKnown: true}
	s := transport.Stats{Records: 350, Lost: 3, LostKnown: true, PendingBytes: 4096}
	if got, want := statsLine("x", prev, s, 500*time.Millisecond), "x: 500.0 records/s, 350 records, 3 lost, 4096 bytes pending"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	s.LostKnown, s.DecodeErrors = false, 2
	if got, want := statsLine("x", prev, s, 0), "x: 0.0 records/s, 350 records, losses unknown, 2 undecodable, 4096 bytes pending"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
