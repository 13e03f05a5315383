package app

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/ringbuf"
)

// knobs are the buffer and wake-up flags. Each applies to one transport, or
// to both (-drain-interval).
type knobs struct {
	ringSize     byteSize
	perfBuffer   byteSize
	wakeup       string
	wakeupBytes  byteSize
	wakeupEvents int
	drain        time.Duration
}

// Flags that only one transport takes.
var (
	ringbufFlags = []string{"ring-size", "wakeup", "wakeup-bytes"}
	perfbufFlags = []string{"perf-buffer", "wakeup-events"}
)

func (k *knobs) register(fs *flag.FlagSet) {
	k.wakeup = ringbuf.WakeupAdaptive.String()
	fs.Var(&k.ringSize, "ring-size", "ringbuf: ring size in `bytes` (suffix K, M or G), a power of two of pages (default 256K)")
	fs.Var(&k.perfBuffer, "perf-buffer", "perfbuf: size of each CPU's buffer in `bytes` (suffix K, M or G), rounded up to a power of two of pages (default 32K)")
	fs.StringVar(&k.wakeup, "wakeup", k.wakeup, "ringbuf: the program's wake-up `policy`: adaptive (the kernel's), never (drain on a timer), always (every event) or bytes (see -wakeup-bytes)")
	fs.Var(&k.wakeupBytes, "wakeup-bytes", "ringbuf: with -wakeup bytes, wake the reader once `N` bytes wait (suffix K, M or G)")
	fs.IntVar(&k.wakeupEvents, "wakeup-events", 0, "perfbuf: wake the reader once a CPU's buffer holds `N` events (0: every event)")
	fs.DurationVar(&k.drain, "drain-interval", 0, "drain the buffers at least every `D` even without a wake-up (default 100ms when wake-ups are skipped, else none)")
}

// options turns the knobs into options for program p (not Auto). set holds
// the names of the flags given on the command line. Its errors are flag
// errors (exit status 2) that name the flag.
func (k *knobs) options(p bpf.Program, set map[string]bool) (bpf.Options, error) {
	opts := bpf.Options{MountTracefs: true}
	ringbuf := p != bpf.PerfbufOutput
	wrong := perfbufFlags
	if !ringbuf {
		wrong = ringbufFlags
	}
	for _, name := range wrong {
		if set[name] {
			return opts, fmt.Errorf("-%s does not apply to %s, which reads %s", name, p, transportOf(p))
		}
	}
	if k.drain < 0 {
		return opts, fmt.Errorf("negative -drain-interval %s", k.drain)
	}
	if ringbuf {
		policy, err := parseWakeup(k.wakeup)
		if err != nil {
			return opts, err
		}
		if err := k.checkRing(policy); err != nil {
			return opts, err
		}
		opts.RingBytes, opts.Wakeup, opts.WakeupBytes = int(k.ringSize), policy, int(k.wakeupBytes)
		opts.Ringbuf.DrainInterval = k.drain
		return opts, nil
	}
	if err := k.checkPerf(); err != nil {
		return opts, err
	}
	opts.Perfbuf.PerCPUBytes = int(k.perfBuffer)
	opts.Perfbuf.WakeupEvents = k.wakeupEvents
	opts.Perfbuf.DrainInterval = k.drain
	// New then refuses a buffer too small for an event, instead of one
	// that jams silently after its first loss.
	opts.Perfbuf.MaxSampleBytes = event.NewExecDecoder().Size()
	return opts, nil
}

// checkRing checks what bpf.Open does not: bpf.Open refuses a ring size
// that is not a power of two of pages, and a threshold without the bytes
// policy (or the other way round), with status 2 too.
func (k *knobs) checkRing(policy ringbuf.Wakeup) error {
	size := int(k.ringSize)
	if size == 0 {
		size = bpf.DefaultRingBytes
	}
	if policy == ringbuf.WakeupBytes && int(k.wakeupBytes) >= size {
		return fmt.Errorf("-wakeup-bytes %s must be below the ring size %d, or the program never wakes the reader", k.wakeupBytes, size)
	}
	return nil
}

func (k *knobs) checkPerf() error {
	if k.wakeupEvents < 0 {
		return fmt.Errorf("negative -wakeup-events %d", k.wakeupEvents)
	}
	// perfbuf.New checks that the buffer holds an event (MaxSampleBytes)
	// and can reach -wakeup-events.
	return nil
}

// parseWakeup parses -wakeup.
func parseWakeup(s string) (ringbuf.Wakeup, error) {
	w, err := ringbuf.ParseWakeup(s)
	if err != nil {
		return w, fmt.Errorf("unknown -wakeup %q (want adaptive, never, always or bytes)", s)
	}
	return w, nil
}

// transportOf says what program p reads.
func transportOf(p bpf.Program) string {
	switch p {
	case bpf.PerfbufOutput:
		return "a BPF perf event array (perfbuf) filled with bpf_perf_event_output"
	case bpf.RingbufOutput:
		return "a BPF ring buffer (ringbuf) filled with bpf_ringbuf_output"
	case bpf.RingbufReserveSubmit:
		return "a BPF ring buffer (ringbuf) filled in place with bpf_ringbuf_reserve and bpf_ringbuf_submit"
	}
	return "the program chosen with -transport: by default (auto) a BPF ring buffer (ringbuf-reserve-submit) where the kernel has them (Linux 5.8+), else a BPF perf event array (perfbuf-output)"
}

// byteSize is a flag holding a size in bytes, written with an optional K, M
// or G suffix (powers of 1024).
type byteSize int

// String implements flag.Value.
func (b byteSize) String() string {
	if b == 0 {
		return "0"
	}
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"G", 30}, {"M", 20}, {"K", 10}} {
		if b%(1<<u.shift) == 0 {
			return strconv.Itoa(int(b)>>u.shift) + u.suffix
		}
	}
	return strconv.Itoa(int(b))
}

// Set implements flag.Value.
func (b *byteSize) Set(s string) error {
	num, shift := s, uint(0)
	switch {
	case strings.HasSuffix(s, "K"):
		num, shift = s[:len(s)-1], 10
	case strings.HasSuffix(s, "M"):
		num, shift = s[:len(s)-1], 20
	case strings.HasSuffix(s, "G"):
		num, shift = s[:len(s)-1], 30
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil || n<<shift > 1<<31 {
		return fmt.Errorf("want bytes up to 2G, with an optional K, M or G suffix")
	}
	*b = byteSize(n << shift)
	return nil
}
