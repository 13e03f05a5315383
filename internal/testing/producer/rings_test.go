//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"runtime"
	"testing"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// TestRingsSpreadOverBusyRings: with Rings, sample seq lands in ring
// seq % BusyRings, every sample exactly once, and the idle rings stay empty.
func TestRingsSpreadOverBusyRings(t *testing.T) {
	for _, busy := range []int{1, 3, 0} {
		p := mustLoad(t, Config{Kind: RingbufOutput, Rings: 4, BusyRings: busy, RingSize: 64 << 10})
		if busy == 0 {
			busy = 4
		}
		if got := len(p.Rings()); got != 4 || p.Map().MaxEntries() != 4 {
			t.Fatalf("%d rings in an array of %d, want 4", got, p.Map().MaxEntries())
		}
		const n = 120
		if err := p.Run(0, n); err != nil {
			t.Fatal(err)
		}
		seen := make(map[uint64]bool)
		for i, m := range p.Rings() {
			rd, err := ringbuf.NewReader(m)
			if err != nil {
				t.Fatal(err)
			}
			count := 0
			for rd.AvailableBytes() > 0 {
				rec, err := rd.Read()
				if err != nil {
					t.Fatal(err)
				}
				h, err := ParseHeader(rec.RawSample)
				if err != nil {
					t.Fatal(err)
				}
				if int(h.Seq%uint64(busy)) != i || seen[h.Seq] {
					t.Fatalf("busy=%d: sample %d in ring %d (seen before: %v)", busy, h.Seq, i, seen[h.Seq])
				}
				seen[h.Seq] = true
				count++
			}
			rd.Close()
			if want := n / busy; i >= busy && count != 0 || i < busy && count != want {
				t.Errorf("busy=%d: ring %d holds %d samples", busy, i, count)
			}
		}
		if len(seen) != n {
			t.Errorf("busy=%d: %d of %d samples", busy, len(seen), n)
		}
	}
}

// TestRunHere: a caller pinned to a CPU emits exactly n samples from it.
func TestRunHere(t *testing.T) {
	p := mustLoad(t, Config{Kind: RingbufOutput})
	cpu := runtime.NumCPU() - 1
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var old, set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			errc <- err
			return
		}
		defer unix.SchedSetaffinity(0, &old)
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			errc <- err
			return
		}
		errc <- p.RunHere(cpu, 77)
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n, err := p.Attempted(); err != nil || n != 77 {
		t.Fatalf("attempted %d (%v), want 77", n, err)
	}
	if err := p.RunHere(-1, 1); err == nil {
		t.Error("RunHere on CPU -1: no error")
	}
}

func TestRingsConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Kind: RingbufReserve, Rings: 2},
		{Kind: Perf, Rings: 2},
		{Kind: RingbufOutput, Rings: 2, BusyRings: 3},
		{Kind: RingbufOutput, BusyRings: 1},
		{Kind: RingbufOutput, Rings: -1},
		{Kind: RingbufOutput, Rings: 2, Wakeup: WakeupBytes, WakeupBytes: 4096},
	} {
		if _, err := Load(cfg); err == nil {
			t.Errorf("Load(%+v): no error", cfg)
		}
	}
}

// TestRunnerFromFiles: a Runner on the descriptors of Files runs the
// Producer's program: its samples count in the Producer's Attempted.
func TestRunnerFromFiles(t *testing.T) {
	p := mustLoad(t, Config{Kind: RingbufOutput})
	prog, budget, err := p.Files()
	if err != nil {
		t.Fatal(err)
	}
	// The Runner takes over descriptors of its own, as a child process
	// would get them; the files keep theirs.
	pfd, err := unix.Dup(int(prog.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	bfd, err := unix.Dup(int(budget.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	prog.Close()
	budget.Close()
	r, err := NewRunner(pfd, bfd)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			errc <- err
			return
		}
		cpu := -1
		for i := range 1024 {
			if set.IsSet(i) {
				cpu = i
				break
			}
		}
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			errc <- err
			return
		}
		defer unix.SchedSetaffinity(0, &set)
		errc <- r.RunHere(cpu, 33)
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n, err := p.Attempted(); err != nil || n != 33 {
		t.Fatalf("attempted %d (%v), want 33", n, err)
	}
}
