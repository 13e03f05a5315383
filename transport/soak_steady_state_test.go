package transport_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/soak"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// envSoak overrides the soak duration per transport (a time.Duration).
const envSoak = "BPFSTREAM_SOAK"

// TestSoak produces at the highest rate one producing thread sustains (the
// test producer's BPF_PROG_TEST_RUN loop, alternating CPUs, so a CPU is left
// for the reader and for other packages' tests running alongside) for 60 s
// per transport, through the batched channel API, with a reader that sleeps
// after every batch. It samples RSS and goroutines every 5 s and checks that
// they are flat after a 10 s warm-up (RSS at most 1.5x its 10 s value plus
// 16 MiB; the same goroutines), and at the end that delivered + lost ==
// produced exactly and that the receiver got every record Stats counted.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: 60 s per transport; runs without -short")
	}
	d := 60 * time.Second
	if v := os.Getenv(envSoak); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("%s=%q: %v", envSoak, v, err)
		}
	}
	for _, hc := range hardCases() {
		if hc.name != "perfbuf/native" && hc.name != "ringbuf/native" {
			continue // the default reader of each transport
		}
		t.Run(hc.name, func(t *testing.T) {
			leakcheck.Check(t)
			soakTransport(t, hc, d)
		})
	}
}

func soakTransport(t *testing.T, hc hardCase, d time.Duration) {
	const sample = 64
	p := streamtest.Load(t, producer.Config{Kind: hc.kind, SampleSize: sample, RingSize: 256 << 10})
	c, err := hc.open(p, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := transport.Batches(ctx, c, transport.ChannelOptions{})
	var received atomic.Uint64
	var badSample atomic.Value
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for b := range s.C {
			for _, r := range b.Records {
				if h, err := producer.ParseHeader(r.Sample); err != nil || h.Size != sample {
					badSample.Store(bytes.Clone(r.Sample))
				}
			}
			received.Add(uint64(len(b.Records)))
			b.Release()
			time.Sleep(100 * time.Microsecond) // a slow-ish reader
		}
	}()

	start := time.Now()
	stopProducer := produceLoop(t, p, 1<<16, runtime.NumCPU())
	// The producer's Run starts a goroutine per call: not a leak. Named by
	// the package's path, so that the name follows the package when it
	// moves (a literal path that no longer matched counted that goroutine
	// in some samples and not in others).
	transient := reflect.TypeFor[producer.Producer]().PkgPath() + ".(*Producer).Run"
	var samples []soak.Sample
	var warm *soak.Sample
	tick := time.NewTicker(5 * time.Second)
	for time.Since(start) < d {
		<-tick.C
		smp, err := soak.Take(start, transient)
		if err != nil {
			t.Fatal(err)
		}
		st := c.Stats()
		t.Logf("%v records=%d lost=%d received=%d", smp, st.Records, st.Lost, received.Load())
		samples = append(samples, smp)
		if warm == nil && smp.At >= 10*time.Second {
			warm = &samples[len(samples)-1]
		}
	}
	tick.Stop()
	stopProducer()
	elapsed := time.Since(start)
	// The producer runs without pause, so samples catch its goroutine.
	if !slices.ContainsFunc(samples, func(smp soak.Sample) bool { return smp.Excluded > 0 }) {
		t.Errorf("no sample saw a goroutine of %s: the exclusion matches nothing", transient)
	}

	// Let the reader catch up, then make perfbuf report its last losses
	// (they are reported with the next successful write to each CPU).
	settle := func() {
		for deadline := time.Now().Add(30 * time.Second); ; {
			before := c.Stats().Records
			time.Sleep(100 * time.Millisecond)
			st := c.Stats()
			if st.Records == before && received.Load() == st.Records && st.PendingBytes == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the reader did not catch up: %+v, received %d", st, received.Load())
			}
		}
	}
	settle()
	if hc.kind == producer.Perf {
		if err := p.RunParallel(producer.AllCPUs(), 1); err != nil {
			t.Fatal(err)
		}
		settle()
	}
	attempted := streamtest.Attempted(t, p)
	dropped, err := p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	final, err := soak.Take(start, transient)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-recvDone
	if err := s.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("stream ended with %v, want context.Canceled", err)
	}

	t.Logf("%s: %v of production: produced %d (%.2f M/s), delivered %d (%.2f M/s), lost %d (%.1f%%), wake-ups %d",
		hc.name, elapsed.Round(time.Second), attempted, float64(attempted)/elapsed.Seconds()/1e6,
		st.Records, float64(st.Records)/elapsed.Seconds()/1e6, st.Lost, 100*float64(st.Lost)/float64(max(attempted, 1)), st.Wakeups)
	t.Logf("after production: %v", final)
	if v := badSample.Load(); v != nil {
		t.Errorf("bad sample received: %x", v)
	}
	if got := received.Load(); got != st.Records {
		t.Errorf("receiver got %d records, Stats.Records = %d", got, st.Records)
	}
	if st.Records+st.Lost != attempted {
		t.Errorf("delivered %d + lost %d = %d, produced %d", st.Records, st.Lost, st.Records+st.Lost, attempted)
	}
	if st.Lost != dropped {
		t.Errorf("Stats.Lost = %d, the program counted %d failed writes", st.Lost, dropped)
	}
	if warm == nil {
		t.Logf("soak shorter than the 10 s warm-up: no flatness check")
		return
	}
	last := samples[len(samples)-1]
	t.Logf("RSS %s at %v, %s at %v; goroutines %d then %d", mib(warm.RSS), warm.At.Round(time.Second), mib(last.RSS), last.At.Round(time.Second), warm.Goroutines, last.Goroutines)
	// Goroutines come and go for a moment (the producer's between runs, the
	// runtime's finalizer goroutine while it runs a finalizer), so a single
	// sample may catch one more or one fewer: a leak is a count that stays
	// above the warm-up's maximum until the end, so the last samples are
	// compared by their minimum.
	warmGoroutines := 0
	for _, smp := range samples {
		if smp.At <= warm.At {
			warmGoroutines = max(warmGoroutines, smp.Goroutines)
		}
	}
	tail := samples[max(len(samples)-3, 0):]
	endGoroutines := tail[0].Goroutines
	for _, smp := range tail {
		endGoroutines = min(endGoroutines, smp.Goroutines)
	}
	if endGoroutines > warmGoroutines {
		t.Errorf("goroutines: at least %d in the last %d samples, at most %d until %v", endGoroutines, len(tail), warmGoroutines, warm.At)
	}
	for _, smp := range samples {
		if smp.At < warm.At {
			continue
		}
		if limit := warm.RSS*3/2 + 16<<20; smp.RSS > limit {
			t.Errorf("RSS grew: %s at %v, limit %s (1.5x %s at %v + 16 MiB)", mib(smp.RSS), smp.At, mib(limit), mib(warm.RSS), warm.At)
		}
	}
}
