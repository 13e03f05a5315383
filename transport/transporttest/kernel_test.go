//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package transporttest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/unpriv"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

var _ transporttest.Producer = (*transporttest.KernelProducer)(nil)

func newMap(t *testing.T, spec *ebpf.MapSpec) *ebpf.Map {
	t.Helper()
	m, err := ebpf.NewMap(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newDrops(t *testing.T) *ebpf.Map {
	return newMap(t, &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
}

func newProducer(t *testing.T, m *ebpf.Map, opts transporttest.KernelProducerOptions) *transporttest.KernelProducer {
	t.Helper()
	p, err := transporttest.NewKernelProducer(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func cpus() []int {
	n := min(runtime.NumCPU(), 4)
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// produceAndCheck runs n samples on each of cpus while c consumes, waits
// until every sample is delivered or counted lost, and checks the records
// with a Checker. It returns the consumer's final Stats.
//
// A perf buffer reports the samples it lost only when the next sample of
// that CPU is written: when the counts stall short of what was produced, it
// runs one more sample on each CPU to flush the reports.
func produceAndCheck(t *testing.T, c transport.Consumer, p *transporttest.KernelProducer, cpus []int, n int) transport.Stats {
	t.Helper()
	before, err := p.Produced()
	if err != nil {
		t.Fatal(err)
	}
	var chk transporttest.Checker
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, func(r transport.Record) error { _ = chk.Add(r); return nil })
	}()
	run := func(n int) {
		var wg sync.WaitGroup
		errs := make([]error, len(cpus))
		for i, cpu := range cpus {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = p.Run(cpu, n) }()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			cancel()
			<-done
			t.Fatal(err)
		}
	}
	run(n)
	produced, err := p.Produced()
	if err != nil {
		t.Fatal(err)
	}
	if want := before + uint64(n*len(cpus)); produced != want {
		t.Errorf("Produced %d, want exactly %d", produced, want)
	}
	deadline := time.Now().Add(time.Minute)
	stalled := 0
	for s := c.Stats(); s.Records+s.Lost < produced; s = c.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %d records + %d lost of %d produced", s.Records, s.Lost, produced)
		}
		time.Sleep(5 * time.Millisecond)
		if s2 := c.Stats(); s2.Records+s2.Lost != s.Records+s.Lost {
			stalled = 0
		} else if stalled++; stalled == 20 && c.Kind() == transport.KindPerfbuf {
			run(1)
			produced += uint64(len(cpus))
			stalled = 0
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v", err)
	}
	s := c.Stats()
	if err := chk.Check(produced, s.Lost); err != nil {
		t.Fatal(err)
	}
	if chk.Count() != s.Records || s.Records+s.Lost != produced {
		t.Fatalf("checker saw %d, stats %d records + %d lost, %d produced", chk.Count(), s.Records, s.Lost, produced)
	}
	return s
}

// TestKernelProducerRingbuf: into the caller's ring buffer and drop counter,
// with each write helper and wake-up policy, every sample is delivered or
// counted lost, exactly once and in order per CPU.
func TestKernelProducerRingbuf(t *testing.T) {
	privileged.Require(t)
	for _, c := range []struct {
		reserve bool
		wakeup  ringbuf.Wakeup
		bytes   int
	}{
		{false, ringbuf.WakeupAdaptive, 0},
		{true, ringbuf.WakeupAdaptive, 0},
		{true, ringbuf.WakeupNever, 0},
		{false, ringbuf.WakeupAlways, 0},
		{false, ringbuf.WakeupBytes, 4096},
	} {
		t.Run(fmt.Sprintf("reserve=%v/%v", c.reserve, c.wakeup), func(t *testing.T) {
			rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 64 << 10})
			drops := newDrops(t)
			p := newProducer(t, rb, transporttest.KernelProducerOptions{
				DropCounter: drops, SampleSize: 64, Reserve: c.reserve, Wakeup: c.wakeup, WakeupBytes: c.bytes,
			})
			cons, err := ringbuf.New(rb, ringbuf.Options{DropCounter: drops, DrainInterval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			s := produceAndCheck(t, cons, p, cpus(), 5000)
			dropped, err := p.Dropped()
			if err != nil {
				t.Fatal(err)
			}
			if dropped != s.Lost {
				t.Fatalf("producer's Dropped %d, consumer's Lost %d", dropped, s.Lost)
			}
			t.Logf("%d records, %d lost", s.Records, s.Lost)
		})
	}
}

// TestKernelProducerRingbufLosses: a full ring loses exactly what does not fit,
// and the drop counter says so.
func TestKernelProducerRingbufLosses(t *testing.T) {
	privileged.Require(t)
	rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	drops := newDrops(t)
	p := newProducer(t, rb, transporttest.KernelProducerOptions{DropCounter: drops, SampleSize: 56})
	const n = 1000
	if err := p.Run(0, n); err != nil { // nobody reads yet
		t.Fatal(err)
	}
	// Records take 56 bytes plus an 8-byte header; the kernel keeps the
	// ring from filling completely (at most its size - 1 bytes wait).
	fit := uint64((os.Getpagesize() - 1) / (56 + 8))
	if d, err := p.Dropped(); err != nil || d != n-fit {
		t.Fatalf("Dropped %d, %v; want %d", d, err, n-fit)
	}
	cons, err := ringbuf.New(rb, ringbuf.Options{DropCounter: drops})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	s := produceAndCheck(t, cons, p, []int{0}, 0)
	if s.Records != fit || s.Lost != n-fit {
		t.Fatalf("stats %+v, want %d records, %d lost", s, fit, n-fit)
	}
}

// TestKernelProducerPerf: into the caller's perf event array, on every CPU,
// with buffers small enough to lose samples: the kernel's lost counts and
// the delivered records add up, each CPU's records in order.
func TestKernelProducerPerf(t *testing.T) {
	privileged.Require(t)
	// The smallest buffer that still reports its losses, and a roomy one.
	for _, perCPU := range []int{perfbuf.MinPerCPUBytes(100), 256 << 10} {
		t.Run(fmt.Sprint(perCPU), func(t *testing.T) {
			pb := newMap(t, &ebpf.MapSpec{Type: ebpf.PerfEventArray})
			p := newProducer(t, pb, transporttest.KernelProducerOptions{SampleSize: 100})
			cons, err := perfbuf.New(pb, perfbuf.Options{PerCPUBytes: perCPU, MaxSampleBytes: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			s := produceAndCheck(t, cons, p, cpus(), 3000)
			t.Logf("%d records, %d lost", s.Records, s.Lost)
		})
	}
}

// TestKernelProducerVarSizes: variable sizes through the caller's ring
// buffer, read back with the var decoder.
func TestKernelProducerVarSizes(t *testing.T) {
	privileged.Require(t)
	rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 256 << 10})
	const lo, hi, n = 30, 90, 610
	p := newProducer(t, rb, transporttest.KernelProducerOptions{SampleSize: lo, VarSampleSize: hi})
	if err := p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	cons, err := ringbuf.New(rb, ringbuf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	dec, err := event.NewVarDecoder[transporttest.SampleHeader](event.SizeTail("Size"), event.Strict(transport.KindRingbuf))
	if err != nil {
		t.Fatal(err)
	}
	var got int
	errDone := errors.New("done")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = cons.Consume(ctx, event.VarHandler(dec, func(h *transporttest.SampleHeader, tail []byte, _ transport.Record) error {
		if want := lo + int(h.Seq%(hi-lo+1)); int(h.Size) != want || len(tail) != want-transporttest.SampleHeaderSize {
			return fmt.Errorf("seq %d: size %d, tail %d", h.Seq, h.Size, len(tail))
		}
		for i, b := range tail {
			if b != transporttest.PayloadByte(h.Seq, i) {
				return fmt.Errorf("seq %d: tail byte %d is %#x", h.Seq, i, b)
			}
		}
		if got++; got == n {
			return errDone
		}
		return nil
	}, func(_ transport.Record, err error) error { return err }))
	if !errors.Is(err, errDone) {
		t.Fatalf("after %d samples: %v", got, err)
	}
}

func TestKernelProducerBadOptions(t *testing.T) {
	privileged.Require(t)
	rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	pb := newMap(t, &ebpf.MapSpec{Type: ebpf.PerfEventArray})
	hash := newMap(t, &ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	for name, c := range map[string]struct {
		m    *ebpf.Map
		opts transporttest.KernelProducerOptions
	}{
		"nil map":            {nil, transporttest.KernelProducerOptions{}},
		"hash map":           {hash, transporttest.KernelProducerOptions{}},
		"perf reserve":       {pb, transporttest.KernelProducerOptions{Reserve: true}},
		"perf wakeup":        {pb, transporttest.KernelProducerOptions{Wakeup: ringbuf.WakeupNever}},
		"bytes no threshold": {rb, transporttest.KernelProducerOptions{Wakeup: ringbuf.WakeupBytes}},
		"small sample":       {rb, transporttest.KernelProducerOptions{SampleSize: 8}},
		"big sample":         {rb, transporttest.KernelProducerOptions{SampleSize: transporttest.MaxSampleSize + 1}},
		"var reserve":        {rb, transporttest.KernelProducerOptions{Reserve: true, SampleSize: 32, VarSampleSize: 64}},
		"var below":          {pb, transporttest.KernelProducerOptions{SampleSize: 32, VarSampleSize: 31}},
		"drops hash":         {rb, transporttest.KernelProducerOptions{DropCounter: hash}},
		"negative CPU":       {rb, transporttest.KernelProducerOptions{CPU: -1}},
	} {
		if p, err := transporttest.NewKernelProducer(c.m, c.opts); !errors.Is(err, transport.ErrInvalidOptions) {
			if p != nil {
				p.Close()
			}
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
		}
	}
	p := newProducer(t, rb, transporttest.KernelProducerOptions{})
	if err := p.Run(-1, 1); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("Run on CPU -1: %v", err)
	}
	p.Close()
	if err := p.Run(0, 1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
	if _, err := p.Produced(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Produced after Close: %v", err)
	}
}

// TestKernelProducerUnprivileged: without privileges, loading the producer
// against a map a privileged process hands down fails with
// transport.ErrPermission naming CAP_BPF.
func TestKernelProducerUnprivileged(t *testing.T) {
	if unpriv.Child() {
		rb, err := ebpf.NewMapFromFD(3)
		if err != nil {
			t.Fatal(err)
		}
		defer rb.Close()
		p, err := transporttest.NewKernelProducer(rb, transporttest.KernelProducerOptions{})
		if err == nil {
			p.Close()
			t.Fatal("loaded without privileges")
		}
		if !errors.Is(err, transport.ErrPermission) || !strings.Contains(err.Error(), "CAP_BPF") {
			t.Fatalf("%v: want transport.ErrPermission naming CAP_BPF", err)
		}
		t.Log(err)
		return
	}
	privileged.Require(t)
	rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	fd, err := unix.FcntlInt(uintptr(rb.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "ringbuf")
	defer f.Close()
	out := unpriv.Run(t, "TestKernelProducerUnprivileged", []*os.File{f}, time.Minute)
	if !strings.Contains(out, "ErrPermission") && !strings.Contains(out, "CAP_BPF") {
		t.Fatalf("child output does not show the permission error:\n%s", out)
	}
}

// TestKernelProducerConformance: a KernelProducer is a Producer for the
// conformance suite, here over a ringbuf consumer of the caller's map.
func TestKernelProducerConformance(t *testing.T) {
	privileged.Require(t)
	const ringSize = 64 << 10
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: ringSize})
			drops := newDrops(t)
			p := newProducer(t, rb, transporttest.KernelProducerOptions{DropCounter: drops, SampleSize: 64})
			c, err := ringbuf.New(rb, ringbuf.Options{DropCounter: drops})
			if err != nil {
				t.Fatal(err)
			}
			return c, p
		},
		Capacity: ringSize/(64+8) - 10,
		Kind:     transport.KindRingbuf,
	})
}
