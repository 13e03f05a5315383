//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// skipUnprivileged skips the test with reason, or fails it when
// BPFSTREAM_REQUIRE_PRIVILEGED=1.
func skipUnprivileged(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("BPFSTREAM_REQUIRE_PRIVILEGED") == "1" {
		t.Fatalf("privileged test cannot run (BPFSTREAM_REQUIRE_PRIVILEGED=1): %s", reason)
	}
	t.Skipf("skipping privileged test: %s (set BPFSTREAM_REQUIRE_PRIVILEGED=1 to fail instead)", reason)
}

// mustLoad loads a producer, skipping the test when BPF is not permitted.
func mustLoad(t testing.TB, cfg Config) *Producer {
	t.Helper()
	p, err := Load(cfg)
	if errors.Is(err, unix.EPERM) || errors.Is(err, ebpf.ErrNotSupported) {
		skipUnprivileged(t, fmt.Sprintf("cannot load BPF: %v", err))
	}
	if err != nil {
		t.Fatalf("Load(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// openReader opens a cilium/ebpf reader on p's map (perCPUBytes per CPU for
// Perf) and returns a function reading up to want samples, waiting at most
// timeout for each, and returning perf lost-sample records as a count.
func openReader(t testing.TB, p *Producer, perCPUBytes int) (read func(want int, timeout time.Duration) ([][]byte, uint64)) {
	t.Helper()
	if p.Config().Kind == Perf {
		rd, err := perf.NewReader(p.Map(), perCPUBytes)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rd.Close() })
		return func(want int, timeout time.Duration) ([][]byte, uint64) {
			return readPerf(t, rd, want, timeout)
		}
	}
	rd, err := ringbuf.NewReader(p.Map())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return func(want int, timeout time.Duration) ([][]byte, uint64) {
		return readRing(t, rd, want, timeout), 0
	}
}

func readRing(t testing.TB, rd *ringbuf.Reader, want int, timeout time.Duration) [][]byte {
	t.Helper()
	var out [][]byte
	for len(out) < want {
		rd.SetDeadline(time.Now().Add(timeout))
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("ringbuf read: %v", err)
		}
		out = append(out, rec.RawSample)
	}
	return out
}

func readPerf(t testing.TB, rd *perf.Reader, want int, timeout time.Duration) (out [][]byte, lost uint64) {
	t.Helper()
	for len(out) < want {
		rd.SetDeadline(time.Now().Add(timeout))
		rec, err := rd.Read()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("perf read: %v", err)
		}
		if rec.LostSamples > 0 {
			lost += rec.LostSamples
			continue
		}
		out = append(out, rec.RawSample)
	}
	return out, lost
}

// checkSamples checks that samples carry consecutive sequence numbers
// starting at 0 (in any order), with the given size and CPU.
func checkSamples(t testing.TB, samples [][]byte, n, size int, cpus map[uint32]int, exact bool) {
	t.Helper()
	if len(samples) != n {
		t.Fatalf("got %d samples, want %d", len(samples), n)
	}
	seqs := make([]uint64, 0, n)
	gotCPUs := map[uint32]int{}
	for i, s := range samples {
		h, err := ParseHeader(s)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if exact && len(s) != size || len(s) < size || len(s) > size+7 {
			t.Fatalf("sample %d: %d bytes, want %d", i, len(s), size)
		}
		if h.Size != uint32(size) {
			t.Fatalf("sample %d: header size %d, want %d", i, h.Size, size)
		}
		if h.KtimeNs == 0 {
			t.Fatalf("sample %d: zero timestamp", i)
		}
		gotCPUs[h.CPU]++
		seqs = append(seqs, h.Seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != uint64(i) {
			t.Fatalf("sorted seq[%d] = %d: sequence numbers not unique and complete", i, s)
		}
	}
	if cpus != nil && fmt.Sprint(gotCPUs) != fmt.Sprint(cpus) {
		t.Fatalf("samples per CPU %v, want %v", gotCPUs, cpus)
	}
}

func checkCounters(t testing.TB, p *Producer, attempted, dropped uint64) {
	t.Helper()
	a, err := p.Attempted()
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if a != attempted || d != dropped {
		t.Fatalf("Attempted, Dropped = %d, %d; want %d, %d", a, d, attempted, dropped)
	}
}

func TestRunDeliversAll(t *testing.T) {
	const n = 1000
	for _, kind := range []Kind{RingbufOutput, RingbufReserve, Perf} {
		for _, size := range []int{0, 100, MaxSample} {
			t.Run(fmt.Sprintf("%v/%d", kind, size), func(t *testing.T) {
				cfg := Config{Kind: kind, SampleSize: size}
				if size == MaxSample {
					cfg.RingSize = 8 << 20
				}
				p := mustLoad(t, cfg)
				if size == 0 {
					size = HeaderSize
				}
				if got := p.Config().SampleSize; got != size {
					t.Fatalf("Config().SampleSize = %d, want %d", got, size)
				}
				read := openReader(t, p, 8<<20)
				if err := p.Run(0, n); err != nil {
					t.Fatal(err)
				}
				samples, lost := read(n, time.Second)
				if lost != 0 {
					t.Fatalf("perf reader lost %d samples", lost)
				}
				checkSamples(t, samples, n, size, map[uint32]int{0: n}, kind != Perf)
				checkCounters(t, p, n, 0)
			})
		}
	}
}

func TestWakeupPolicies(t *testing.T) {
	const n = 500
	for _, kind := range []Kind{RingbufOutput, RingbufReserve} {
		for _, w := range []Wakeup{WakeupAdaptive, WakeupNever, WakeupAlways, WakeupBytes} {
			t.Run(fmt.Sprintf("%v/%v", kind, w), func(t *testing.T) {
				p := mustLoad(t, Config{Kind: kind, SampleSize: 64, Wakeup: w, WakeupBytes: 4096})
				rd, err := ringbuf.NewReader(p.Map())
				if err != nil {
					t.Fatal(err)
				}
				defer rd.Close()
				if err := p.Run(0, n); err != nil {
					t.Fatal(err)
				}
				samples := readRing(t, rd, n, 200*time.Millisecond)
				checkSamples(t, samples, n, 64, map[uint32]int{0: n}, true)
				checkCounters(t, p, n, 0)
			})
		}
	}
}

// A ring too small for the burst and no reader: the program must count
// every sample it could not write.
func TestRingbufDropsCounted(t *testing.T) {
	const n, size = 1000, 128
	for _, kind := range []Kind{RingbufOutput, RingbufReserve} {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustLoad(t, Config{Kind: kind, SampleSize: size, RingSize: 4096})
			if err := p.Run(0, n); err != nil {
				t.Fatal(err)
			}
			a, _ := p.Attempted()
			d, err := p.Dropped()
			if err != nil {
				t.Fatal(err)
			}
			if a != n || d == 0 {
				t.Fatalf("Attempted, Dropped = %d, %d; want %d, > 0", a, d, n)
			}
			samples, _ := openReader(t, p, 0)(n, 50*time.Millisecond)
			if uint64(len(samples))+d != n {
				t.Fatalf("delivered %d + dropped %d != %d", len(samples), d, n)
			}
			// The ring holds 4096/(8+128) samples; they are the first ones.
			if len(samples) != 4096/(8+size) {
				t.Errorf("delivered %d samples, want %d", len(samples), 4096/(8+size))
			}
			for i, s := range samples {
				if h, _ := ParseHeader(s); h.Seq != uint64(i) {
					t.Fatalf("sample %d has seq %d", i, h.Seq)
				}
			}
		})
	}
}

// A perf buffer of one page: bpf_perf_event_output fails once it is full,
// and the program counts it.
func TestPerfDropsCounted(t *testing.T) {
	const n, size = 1000, 128
	p := mustLoad(t, Config{Kind: Perf, SampleSize: size})
	rd, err := perf.NewReader(p.Map(), 1) // rounded up to one page
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	a, _ := p.Attempted()
	d, err := p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if a != n || d == 0 {
		t.Fatalf("Attempted, Dropped = %d, %d; want %d, > 0", a, d, n)
	}
	samples, _ := readPerf(t, rd, n, 50*time.Millisecond)
	if uint64(len(samples))+d != n {
		t.Fatalf("delivered %d + dropped %d != %d", len(samples), d, n)
	}
}

// Without a reader the perf event array has no entry for the CPU: every
// write fails and is counted.
func TestPerfNoReaderDropsAll(t *testing.T) {
	p := mustLoad(t, Config{Kind: Perf})
	if err := p.Run(0, 100); err != nil {
		t.Fatal(err)
	}
	checkCounters(t, p, 100, 100)
}

func onlineCPUs(t testing.TB) []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

func TestRunParallel(t *testing.T) {
	const n = 1000
	cpus := onlineCPUs(t)
	if len(cpus) < 2 {
		t.Skipf("needs two CPUs, have %v", cpus)
	}
	cpus = cpus[:2]
	want := map[uint32]int{uint32(cpus[0]): n, uint32(cpus[1]): n}
	for _, kind := range []Kind{RingbufOutput, RingbufReserve, Perf} {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustLoad(t, Config{Kind: kind, SampleSize: 32})
			read := openReader(t, p, 1<<20)
			if err := p.RunParallel(cpus, n); err != nil {
				t.Fatal(err)
			}
			samples, lost := read(2*n, time.Second)
			if lost != 0 {
				t.Fatalf("perf reader lost %d samples", lost)
			}
			checkSamples(t, samples, 2*n, 32, want, kind != Perf)
			checkCounters(t, p, 2*n, 0)
		})
	}
}

func TestRunOnCPU(t *testing.T) {
	cpus := onlineCPUs(t)
	cpu := cpus[len(cpus)-1]
	p := mustLoad(t, Config{Kind: RingbufReserve})
	if err := p.Run(cpu, 10); err != nil {
		t.Fatal(err)
	}
	samples, _ := openReader(t, p, 0)(10, time.Second)
	checkSamples(t, samples, 10, HeaderSize, map[uint32]int{uint32(cpu): 10}, true)
}

func TestRunBadCPU(t *testing.T) {
	p := mustLoad(t, Config{Kind: RingbufOutput})
	if err := p.Run(-1, 1); err == nil {
		t.Error("Run(-1, 1): no error")
	}
	if err := p.Run(len(unix.CPUSet{})*64-1, 1); err == nil {
		t.Error("Run(offline CPU, 1): no error")
	}
	if err := p.Run(0, -1); err == nil {
		t.Error("Run(0, -1): no error")
	}
	checkCounters(t, p, 0, 0)
}

func TestRunChunks(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	n := 2*runChunk + 5
	p := mustLoad(t, Config{Kind: RingbufReserve, RingSize: 16 << 20})
	if err := p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	samples, _ := openReader(t, p, 0)(n+runChunk, 100*time.Millisecond)
	a, _ := p.Attempted()
	// An interrupted chunk is rerun whole, so more may have been attempted.
	if a < uint64(n) || uint64(len(samples)) != a {
		t.Fatalf("attempted %d, delivered %d, want >= %d and equal", a, len(samples), n)
	}
	checkSamples(t, samples, int(a), HeaderSize, nil, true)
}

func TestClose(t *testing.T) {
	p := mustLoad(t, Config{Kind: Perf})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := p.Run(0, 1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if _, err := p.Attempted(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Attempted after Close: %v", err)
	}
	if _, err := p.Dropped(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Dropped after Close: %v", err)
	}
}

func TestLoadBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Kind: Kind(7)},
		{Kind: RingbufOutput, SampleSize: HeaderSize - 1},
		{Kind: Perf, SampleSize: MaxSample + 1},
		{Kind: RingbufReserve, RingSize: 3 * 4096},
		{Kind: RingbufReserve, RingSize: 1024},
		{Kind: RingbufOutput, Wakeup: WakeupBytes},
		{Kind: RingbufOutput, Wakeup: Wakeup(9)},
	} {
		if p, err := Load(cfg); err == nil {
			p.Close()
			t.Errorf("Load(%+v): no error", cfg)
		} else {
			t.Logf("Load(%+v): %v", cfg, err)
		}
	}
}

func BenchmarkRunNoReader(b *testing.B) {
	for _, kind := range []Kind{RingbufOutput, RingbufReserve, Perf} {
		b.Run(kind.String(), func(b *testing.B) {
			// No reader: ring kinds fill up and drop, perf has no buffer.
			// This measures the producer's cost per attempt.
			p := mustLoad(b, Config{Kind: kind, SampleSize: 64, Wakeup: WakeupNever})
			for b.Loop() {
				if err := p.Run(0, 1000); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/sample")
		})
	}
}

// The Go constants must match producer.bpf.c (as seen through bpf2go).
func TestLayoutMatchesC(t *testing.T) {
	if got := unsafe.Sizeof(producerSampleHdr{}); got != HeaderSize {
		t.Errorf("sizeof(struct sample_hdr) = %d, HeaderSize = %d", got, HeaderSize)
	}
	if got := unsafe.Sizeof(producerScratchBuf{}); got != MaxSample {
		t.Errorf("sizeof(struct scratch_buf) = %d, MaxSample = %d", got, MaxSample)
	}
}
