package leakcheck

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that records what Check does with it instead of
// failing the real test.
type recorder struct {
	testing.TB // nil: calling anything not overridden panics
	mu         sync.Mutex
	cleanups   []func()
	errors     []string
}

func (r *recorder) Helper() {}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups as the testing package does: last in, first out.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

//go:noinline
func leakyWorker(stop <-chan struct{}) { <-stop }

func TestCheckReportsLeak(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })

	r := &recorder{}
	Check(r)
	go func() { defer close(done); leakyWorker(stop) }()
	start := time.Now()
	r.end()

	if len(r.errors) != 1 {
		t.Fatalf("Check reported %d errors for a leaked goroutine, want 1: %q", len(r.errors), r.errors)
	}
	if !strings.Contains(r.errors[0], "leakyWorker") {
		t.Errorf("report does not show the leaked goroutine's stack:\n%s", r.errors[0])
	}
	if !strings.Contains(r.errors[0], "1 goroutine(s)") {
		t.Errorf("report does not count exactly one leaked goroutine:\n%s", r.errors[0])
	}
	if waited := time.Since(start); waited < Timeout {
		t.Errorf("Check gave up after %v, want at least %v", waited, Timeout)
	}
}

func TestCheckPassesWhenGoroutinesExit(t *testing.T) {
	r := &recorder{}
	Check(r)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); leakyWorker(stop) }()
	}
	// The goroutines exit only after the test body has ended, while Check
	// is waiting: that is not a leak.
	r.Cleanup(func() { time.AfterFunc(50*time.Millisecond, func() { close(stop) }) })
	start := time.Now()
	r.end()
	if len(r.errors) != 0 {
		t.Fatalf("Check reported goroutines that exited: %q", r.errors)
	}
	if waited := time.Since(start); waited > Timeout/2 {
		t.Errorf("Check took %v to notice the goroutines had exited", waited)
	}
	wg.Wait()
}

func TestCheckIgnoresGoroutinesStartedBefore(t *testing.T) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); leakyWorker(stop) }()
	defer func() { close(stop); <-done }()

	if leaked := waitLeaked(snapshot(), 0); len(leaked) != 0 {
		t.Fatalf("goroutine started before the snapshot reported as leaked:\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestWaitLeakedVerdicts(t *testing.T) {
	before := snapshot()
	if leaked := waitLeaked(before, 0); len(leaked) != 0 {
		t.Fatalf("nothing started, yet leaked:\n%s", strings.Join(leaked, "\n\n"))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); leakyWorker(stop) }()
	leaked := waitLeaked(before, 30*time.Millisecond)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "leakyWorker") {
		t.Fatalf("running goroutine not reported: %q", leaked)
	}
	close(stop)
	<-done
	if leaked := waitLeaked(before, Timeout); len(leaked) != 0 {
		t.Fatalf("exited goroutine still reported:\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestIgnoresTestRunnersAndSignalLoop(t *testing.T) {
	before := snapshot()
	// Another test's runner goroutine (created by testing.(*T).Run), here a
	// subtest blocked while this goroutine inspects the process.
	inside := make(chan struct{})
	release := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t.Run("blocked", func(t *testing.T) {
			close(inside)
			<-release
		})
	}()
	<-inside
	// os/signal's loop is started by the first Notify and never stops.
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	defer signal.Stop(c)

	leaked := newGoroutines(before)
	close(release)
	<-finished
	// The goroutine that called t.Run above is ours and is reported; the
	// subtest's runner and the signal loop are not.
	if len(leaked) != 1 {
		t.Fatalf("got %d goroutines, want only the one this test started:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
	if !strings.Contains(leaked[0], "TestIgnoresTestRunnersAndSignalLoop") {
		t.Errorf("reported the wrong goroutine:\n%s", leaked[0])
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		block string
		id    uint64
		ok    bool
	}{
		{"goroutine 42 [chan receive]:\nmain.main()\n", 42, true},
		{"goroutine 7 [running]:", 7, true},
		{"goroutine x [running]:", 0, false},
		{"created by main.main", 0, false},
		{"", 0, false},
	} {
		g, ok := parse(tc.block)
		if ok != tc.ok || g.id != tc.id {
			t.Errorf("parse(%q) = %d, %v; want %d, %v", tc.block, g.id, ok, tc.id, tc.ok)
		}
	}
}

func TestCheckOnRealTest(t *testing.T) {
	Check(t)
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
}
