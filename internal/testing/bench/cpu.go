package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time the process has used, all threads.
func processCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// pinned runs f on a thread pinned to cpu.
func pinned(cpu int, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is not unlocked: the runtime discards it with its
		// changed affinity when the goroutine exits.
		if err := pinThread(cpu); err != nil {
			errc <- err
			return
		}
		errc <- f()
	}()
	return <-errc
}

// pinThread pins the calling thread to cpu.
func pinThread(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("bench: pin thread to CPU %d: %w", cpu, err)
	}
	return nil
}

// pinProcess pins every thread of the process to cpu and returns a function
// that gives each thread the affinity the calling thread had before. Threads
// the runtime starts meanwhile inherit the pinning from the thread that
// starts them.
func pinProcess(cpu int) (restore func(), err error) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("bench: get CPU affinity: %w", err)
	}
	set.Set(cpu)
	if err := setAll(&set); err != nil {
		setAll(&old)
		return nil, err
	}
	return func() { setAll(&old) }, nil
}

// setAll sets the affinity of every thread of the process; threads that exit
// meanwhile are skipped.
func setAll(set *unix.CPUSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("bench: list threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("bench: pin thread %d: %w", tid, err)
		}
	}
	return nil
}

// threadCPU returns the CPU time thread tid of this process has used, or 0
// for tid 0 (not known). The clock id is the kernel's per-thread CPU clock
// (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED)), which another thread may read.
func threadCPU(tid int32) (time.Duration, error) {
	if tid == 0 {
		return 0, nil
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(^uint32(tid)<<3|6), &ts); err != nil {
		return 0, fmt.Errorf("bench: CPU clock of thread %d: %w", tid, err)
	}
	return time.Duration(ts.Nano()), nil
}
