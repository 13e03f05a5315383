// Package leakcheck fails a test that leaves goroutines behind.
//
// Call Check at the start of a test (or subtest). It remembers which
// goroutines exist, and when the test ends it waits a little for goroutines
// started since then to exit, and fails the test with their stacks if any
// remain:
//
//	func TestSomething(t *testing.T) {
//		leakcheck.Check(t)
//		...
//	}
//
// Cleanups run last-in first-out, so cleanups the test registers after Check
// (closing a consumer, say) run before the check.
//
// Goroutines are told apart by their ID, which the runtime never reuses, so a
// goroutine that started before Check is never blamed on the test. Tests that
// run in parallel with the checked one (t.Parallel) can start goroutines that
// are then blamed on it: do not combine Check with parallel tests.
package leakcheck

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// Timeout is how long Check waits for new goroutines to exit once the
	// test has ended. Goroutines that are being unblocked by the test's
	// last actions (a closed channel, a cancelled context) need a moment
	// to be scheduled and return.
	Timeout = 2 * time.Second
	// pollInterval is how often Check looks again while it waits.
	pollInterval = 10 * time.Millisecond
)

// Check records the goroutines that exist now and registers a cleanup on tb
// that fails tb, listing their stacks, if goroutines started after this call
// are still running Timeout after tb has ended.
func Check(tb testing.TB) {
	tb.Helper()
	before := snapshot()
	tb.Cleanup(func() {
		tb.Helper()
		if leaked := waitLeaked(before, Timeout); len(leaked) > 0 {
			tb.Errorf("leakcheck: %d goroutine(s) started by the test are still running after %v:\n\n%s",
				len(leaked), Timeout, strings.Join(leaked, "\n\n"))
		}
	})
}

// goroutine is one goroutine from a runtime.Stack dump.
type goroutine struct {
	id    uint64
	stack string // the whole block, header line included
}

// snapshot returns the IDs of the goroutines that exist now.
func snapshot() map[uint64]bool {
	ids := make(map[uint64]bool)
	for _, g := range goroutines() {
		ids[g.id] = true
	}
	return ids
}

// waitLeaked polls until no goroutine outside before (and not ignored)
// remains, or timeout passes; it returns the stacks of those that remain.
// It is the verdict behind Check, without failing anything.
func waitLeaked(before map[uint64]bool, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := newGoroutines(before)
		if len(leaked) == 0 || !time.Now().Before(deadline) {
			return leaked
		}
		time.Sleep(pollInterval)
	}
}

// newGoroutines returns the stacks of goroutines that are not in before and
// not ignored.
func newGoroutines(before map[uint64]bool) []string {
	var leaked []string
	for _, g := range goroutines() {
		if !before[g.id] && !ignored(g.stack) {
			leaked = append(leaked, g.stack)
		}
	}
	return leaked
}

// ignored reports whether a goroutine belongs to the process rather than to
// any test, so it is never a leak. The list is short on purpose:
//
//   - goroutines created by package testing itself: the runners of other
//     tests (parallel tests, or a parent test waiting for its subtests) and
//     fuzzing workers. Code under test cannot leak those; the goroutines it
//     starts are "created by" its own functions.
//   - os/signal's delivery loop, a process-wide singleton started by the
//     first signal.Notify and never stopped by design.
//
// Runtime-internal goroutines (GC workers, the finalizer and cleanup
// goroutines) never appear: runtime.Stack omits system goroutines.
func ignored(stack string) bool {
	if i := strings.LastIndex(stack, "\ncreated by "); i >= 0 && strings.HasPrefix(stack[i+len("\ncreated by "):], "testing.") {
		return true
	}
	return strings.Contains(stack, "\nos/signal.loop()") || strings.Contains(stack, "\nos/signal.signal_recv(")
}

// goroutines parses a runtime.Stack dump of every goroutine.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		if g, ok := parse(string(block)); ok {
			gs = append(gs, g)
		}
	}
	return gs
}

// parse reads one block of a runtime.Stack dump, which starts with a line
// like "goroutine 42 [chan receive]:".
func parse(block string) (goroutine, bool) {
	block = strings.TrimSpace(block)
	rest, ok := strings.CutPrefix(block, "goroutine ")
	if !ok {
		return goroutine{}, false
	}
	idText, _, ok := strings.Cut(rest, " ")
	if !ok {
		return goroutine{}, false
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return goroutine{}, false
	}
	return goroutine{id: id, stack: block}, true
}
