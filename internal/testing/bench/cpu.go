package bench

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time the process has used, all threads.
func processCPU() (time.Duration, error) {
	return rusage(unix.RUSAGE_SELF)
}

// threadCPU returns the CPU time the calling thread has used; the caller has
// locked its goroutine to the thread.
func threadCPU() (time.Duration, error) {
	return rusage(unix.RUSAGE_THREAD)
}

func rusage(who int) (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
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
