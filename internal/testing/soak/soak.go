// Package soak helps the long-running and racing transport tests: it keeps
// the test producer running in the background, samples the process's memory
// and goroutines, and dumps every goroutine's stack when a test gives up
// waiting.
package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RSS returns the process's resident set size (VmRSS in /proc/self/status)
// in bytes.
func RSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("soak: parse VmRSS %q: %w", rest, err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("soak: no VmRSS in /proc/self/status")
}

// Sample is one measurement of the process.
type Sample struct {
	At        time.Duration // since the sampler started
	RSS       uint64        // bytes
	HeapInuse uint64        // bytes (runtime.MemStats)
	// Goroutines counts goroutines, except those whose stack contains the
	// string given to Take (short-lived helpers that come and go).
	Goroutines int
	// Excluded counts the goroutines left out of Goroutines: a test can
	// check that its exclusion still matches what it means to leave out.
	Excluded int
}

func (s Sample) String() string {
	return fmt.Sprintf("t=%3.0fs rss=%6.1f MiB heap=%6.1f MiB goroutines=%d",
		s.At.Seconds(), float64(s.RSS)/(1<<20), float64(s.HeapInuse)/(1<<20), s.Goroutines)
}

// Take measures the process now; start is when the sampler started.
// Goroutines whose stack contains exclude (when not empty) are not counted.
func Take(start time.Time, exclude string) (Sample, error) {
	rss, err := RSS()
	if err != nil {
		return Sample{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n, excluded := 0, 0
	for _, g := range strings.Split(Stacks(), "\n\n") {
		if exclude == "" || !strings.Contains(g, exclude) {
			n++
		} else {
			excluded++
		}
	}
	return Sample{At: time.Since(start), RSS: rss, HeapInuse: ms.HeapInuse, Goroutines: n, Excluded: excluded}, nil
}

// Loop calls run until Stop is called, on its own goroutine: the test
// producer's Run at the highest rate one thread can sustain.
type Loop struct {
	stop  atomic.Bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
	Calls atomic.Uint64
}

// Start runs run(i) for i = 0, 1, 2... until Stop.
func Start(run func(i int) error) *Loop {
	l := &Loop{}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; !l.stop.Load(); i++ {
			if err := run(i); err != nil {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				return
			}
			l.Calls.Add(1)
		}
	}()
	return l
}

// Stop ends the loop, waits for the running call to return and returns the
// error that ended the loop early, if any. It is idempotent.
func (l *Loop) Stop() error {
	l.stop.Store(true)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Stacks returns the stacks of every goroutine, for a test that gives up
// waiting (a deadlock).
func Stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(bytes.TrimSpace(buf[:n]))
		}
		buf = make([]byte, 2*len(buf))
	}
}
