package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// Memory is what a consumer holds while it waits for records.
type Memory struct {
	// MappedBytes is the size of the BPF map mappings it added to the
	// process (the "anon_inode:bpf-map" lines of /proc/self/maps): the
	// rings' pages as mapped, address space rather than resident memory
	// (a ring's data pages are mapped twice, back to back).
	MappedBytes uint64
	// HeapBytes is the Go heap in use it added (HeapAlloc after a
	// collection); libbpf's C allocations are not in it.
	HeapBytes int64
	// Goroutines is the goroutines it started beside the one that calls
	// it.
	Goroutines int
	// Threads is the OS threads the process gained: a goroutine blocked in
	// a system call (epoll_wait in cilium/ebpf's reader) holds one.
	Threads int
}

// settle is how long MeasureMemory lets the consumer run before it looks:
// long enough to start its goroutines and block.
const settle = 100 * time.Millisecond

// MeasureMemory opens path on p (from LoadLive), runs it with no records
// coming, and reports what it holds.
func MeasureMemory(p *producer.Producer, cfg Config, path Path) (Memory, error) {
	cfg = cfg.withLiveDefaults(p)
	before, err := takeMemory()
	if err != nil {
		return Memory{}, err
	}
	rd, err := open(path, p, cfg)
	if err != nil {
		return Memory{}, err
	}
	defer rd.close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rd.run(ctx, newGoal()) }()
	time.Sleep(settle)
	after, err := takeMemory()
	cancel()
	<-done
	if err != nil {
		return Memory{}, err
	}
	return Memory{
		MappedBytes: after.MappedBytes - before.MappedBytes,
		HeapBytes:   after.HeapBytes - before.HeapBytes,
		Goroutines:  after.Goroutines - before.Goroutines - 1, // the caller's
		Threads:     after.Threads - before.Threads,
	}, nil
}

func takeMemory() (Memory, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mapped, err := mappedBPF()
	if err != nil {
		return Memory{}, err
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return Memory{}, fmt.Errorf("bench: %w", err)
	}
	return Memory{MappedBytes: mapped, HeapBytes: int64(ms.HeapAlloc), Goroutines: runtime.NumGoroutine(), Threads: len(tasks)}, nil
}

// mappedBPF sums the sizes of the process's mappings of BPF maps.
func mappedBPF() (uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	var sum uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, "anon_inode:bpf-map") {
			continue
		}
		lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil {
			sum += b - a
		}
	}
	return sum, sc.Err()
}
