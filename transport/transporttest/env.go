package transporttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/transport"
)

type env struct {
	h        Harness
	c        transport.Consumer
	p        Producer
	produced int // samples produced so far; seqs are 0..produced-1
}

func newEnv(t *testing.T, h Harness) *env {
	// First, so that its cleanup runs last, after the consumer and
	// whatever New opened are closed.
	leakcheck.Check(t)
	c, p := h.New(t)
	if c == nil || p == nil {
		t.Fatal("transporttest: Harness.New returned a nil consumer or producer")
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{h: h, c: c, p: p}
}

// batch caps n at the harness's capacity.
func (e *env) batch(n int) int {
	if e.h.Capacity > 0 && n > e.h.Capacity {
		return e.h.Capacity
	}
	return n
}

// produce makes n samples arrive and returns how many did.
func (e *env) produce(t *testing.T, n int) int {
	t.Helper()
	got := e.p.Produce(t, n)
	if got < n {
		t.Fatalf("Producer.Produce(%d) reported %d samples; it must produce at least n", n, got)
	}
	e.produced += got
	return got
}

// rec is what the suite keeps of a record.
type rec struct {
	seq    uint64
	cpu    int
	source int
	size   int
}

// collector gathers records from a handler running on another goroutine.
type collector struct {
	e       *env
	mu      sync.Mutex
	recs    []rec
	bad     []string // problems seen in the handler, reported by check
	changed chan struct{}
	// stopAt, when > 0, makes the handler return errEnough once it has
	// that many records.
	stopAt int
}

func newCollector(e *env) *collector {
	return &collector{e: e, changed: make(chan struct{}, 1)}
}

// handle is a transport.Handler.
func (c *collector) handle(r transport.Record) error {
	r2, err := c.e.rec(r)
	c.mu.Lock()
	if err != nil {
		c.bad = append(c.bad, err.Error())
	} else {
		c.recs = append(c.recs, r2)
	}
	n := len(c.recs) + len(c.bad)
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	if c.stopAt > 0 && n >= c.stopAt {
		return errEnough
	}
	return nil
}

// rec reads a record's sequence number and checks its CPU against the kind.
func (e *env) rec(r transport.Record) (rec, error) {
	seq, err := e.p.Seq(r.Sample)
	if err != nil {
		return rec{}, fmt.Errorf("Producer.Seq on a delivered sample of %d bytes: %v", len(r.Sample), err)
	}
	return rec{seq: seq, cpu: int(r.CPU), source: int(r.Source), size: len(r.Sample)}, nil
}

func (c *collector) snapshot() []rec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]rec(nil), c.recs...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs) + len(c.bad)
}

// waitFor waits until the collector holds n records, and fails t if that
// takes longer than d.
func (c *collector) waitFor(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for c.len() < n {
		select {
		case <-c.changed:
		case <-deadline.C:
			t.Fatalf("received %d records within %v, want %d (Stats %+v)", c.len(), d, n, c.e.c.Stats())
		}
	}
}

// consuming is a Consume running on its own goroutine.
type consuming struct {
	done  chan struct{}
	err   error
	start time.Time
	end   time.Time
}

// start runs Consume on a new goroutine. A cleanup closes the consumer and
// fails t if Consume then does not return.
func (e *env) start(t *testing.T, ctx context.Context, h transport.Handler) *consuming {
	t.Helper()
	r := &consuming{done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(r.done)
		r.err = e.c.Consume(ctx, h)
		r.end = time.Now()
	}()
	t.Cleanup(func() {
		_ = e.c.Close()
		select {
		case <-r.done:
		case <-time.After(closeTimeout):
			t.Errorf("Consume still running %v after Close", closeTimeout)
		}
	})
	return r
}

// wait waits up to d for Consume to return and reports whether it did.
func (r *consuming) wait(d time.Duration) bool {
	select {
	case <-r.done:
		return true
	case <-time.After(d):
		return false
	}
}

// returned reports whether Consume has returned, without waiting.
func (r *consuming) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// consumeAll runs Consume until the handler has seen n records and returns
// them; Consume must end with the suite's errEnough, wrapped.
func (e *env) consumeAll(t *testing.T, n int) []rec {
	t.Helper()
	col := newCollector(e)
	col.stopAt = n
	// The records are already in the buffer: they come in milliseconds.
	ctx, cancel := context.WithTimeout(context.Background(), arrival)
	defer cancel()
	err := e.c.Consume(ctx, col.handle)
	if !errors.Is(err, errEnough) {
		t.Fatalf("Consume returned %v after %d of %d records, want the handler's error (Stats %+v)", err, col.len(), n, e.c.Stats())
	}
	col.check(t)
	return col.snapshot()
}

// cancelAndCheck cancels a running Consume, waits for it to return, and
// checks what col received (in order when ordered) against Stats.
func (e *env) cancelAndCheck(t *testing.T, cancel context.CancelFunc, r *consuming, col *collector, ordered bool) {
	t.Helper()
	cancel()
	if !r.wait(patience) {
		t.Fatal("Consume did not return after cancel")
	}
	col.check(t)
	recs := col.snapshot()
	e.checkRecords(t, recs, ordered)
	e.checkStats(t, recs)
}

// check reports the problems the handler saw.
func (c *collector) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.bad {
		t.Error(b)
	}
}

// checkRecords checks delivered records: each seq below produced and seen at
// most once (exactly once when complete), in order per CPU and source, with a
// CPU that fits the consumer's kind.
func (e *env) checkRecords(t *testing.T, recs []rec, complete bool) {
	t.Helper()
	type key struct{ cpu, source int }
	last := map[key]uint64{}
	seen := make(map[uint64]bool, len(recs))
	kind := e.c.Kind()
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i, r := range recs {
		switch {
		case kind == transport.KindRingbuf && r.cpu != transport.NoCPU:
			fail("record %d (seq %d): CPU %d, want NoCPU (-1) for a ring buffer", i, r.seq, r.cpu)
		case kind == transport.KindPerfbuf && r.cpu < 0:
			fail("record %d (seq %d): CPU %d, want >= 0 for a perf buffer", i, r.seq, r.cpu)
		case r.cpu < transport.NoCPU:
			fail("record %d (seq %d): CPU %d", i, r.seq, r.cpu)
		}
		if r.source < 0 {
			fail("record %d (seq %d): negative Source %d", i, r.seq, r.source)
		}
		if r.seq >= uint64(e.produced) {
			fail("record %d: seq %d, but only %d samples were produced", i, r.seq, e.produced)
		}
		if seen[r.seq] {
			fail("record %d: seq %d delivered twice", i, r.seq)
		}
		seen[r.seq] = true
		// CPU -1 means the transport does not say; then the order is
		// total (per source).
		k := key{r.cpu, r.source}
		if prev, ok := last[k]; ok && r.seq < prev {
			fail("record %d: seq %d after seq %d from CPU %d, source %d: out of order", i, r.seq, prev, r.cpu, r.source)
		}
		last[k] = r.seq
	}
	if complete {
		if len(recs) != e.produced {
			fail("delivered %d records, produced %d", len(recs), e.produced)
		}
		for s := uint64(0); s < uint64(e.produced); s++ {
			if !seen[s] {
				fail("seq %d never delivered", s)
			}
		}
	}
	if errs > 10 {
		t.Errorf("... and %d more problems", errs-10)
	}
}

// sumSizes adds up record sizes.
func sumSizes(recs []rec) uint64 {
	var n uint64
	for _, r := range recs {
		n += uint64(r.size)
	}
	return n
}

// checkStats checks the counters against what the suite saw delivered.
func (e *env) checkStats(t *testing.T, delivered []rec) {
	t.Helper()
	s := e.c.Stats()
	if s.Records != uint64(len(delivered)) {
		t.Errorf("Stats.Records = %d, handler saw %d records", s.Records, len(delivered))
	}
	if want := sumSizes(delivered); s.Bytes != want {
		t.Errorf("Stats.Bytes = %d, handler saw %d bytes", s.Bytes, want)
	}
	if s.LostKnown && s.Records+s.Lost != uint64(e.produced) {
		t.Errorf("Stats.Records %d + Stats.Lost %d != %d produced", s.Records, s.Lost, e.produced)
	}
	if len(delivered) > 0 && s.Wakeups == 0 {
		t.Errorf("Stats.Wakeups = 0 after %d records", len(delivered))
	}
	if k := e.c.Kind(); (k == transport.KindPerfbuf || k == transport.KindRingbuf) && s.BufferBytes == 0 {
		t.Errorf("Stats.BufferBytes = 0 for a %v consumer", k)
	}
}
