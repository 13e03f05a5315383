package transporttest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// fakeProducer feeds a Fake with samples that start with a little-endian u64
// sequence number followed by 0-15 bytes of filler, so sizes vary.
type fakeProducer struct {
	f    *transporttest.Fake
	next uint64
	// cpus, when > 0, spreads samples over that many CPUs, as a perf
	// buffer would deliver them.
	cpus int
}

func (p *fakeProducer) Produce(t *testing.T, n int) int {
	t.Helper()
	for range n {
		sample := make([]byte, 8+int(p.next%16))
		binary.LittleEndian.PutUint64(sample, p.next)
		for i := 8; i < len(sample); i++ {
			sample[i] = byte(i)
		}
		r := transport.Record{Sample: sample, CPU: transport.NoCPU}
		if p.cpus > 0 {
			r.CPU = int32(int(p.next) % p.cpus)
		}
		p.next++
		if err := p.f.EmitRecord(r); err != nil && !errors.Is(err, transporttest.ErrFull) {
			t.Fatalf("EmitRecord: %v", err)
		}
	}
	return n
}

func (p *fakeProducer) Seq(sample []byte) (uint64, error) {
	if len(sample) < 8 {
		return 0, fmt.Errorf("sample of %d bytes has no sequence number", len(sample))
	}
	return binary.LittleEndian.Uint64(sample), nil
}

func fakeHarness(opts transporttest.FakeOptions, cpus int) transporttest.Harness {
	return transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			f := transporttest.NewFake(opts)
			return f, &fakeProducer{f: f, cpus: cpus}
		},
		Capacity: opts.Capacity,
		Kind:     opts.Kind,
	}
}

func TestFakeConformance(t *testing.T) {
	transporttest.Run(t, fakeHarness(transporttest.FakeOptions{}, 0))
}

func TestFakeConformanceBounded(t *testing.T) {
	// A bounded Fake loses samples when full, and counts them.
	transporttest.Run(t, fakeHarness(transporttest.FakeOptions{Capacity: 64}, 0))
}

func TestFakeConformanceSeveralCPUs(t *testing.T) {
	// CPUs interleave; the suite then checks order per CPU.
	transporttest.Run(t, fakeHarness(transporttest.FakeOptions{}, 3))
}

func newFake(t *testing.T, opts transporttest.FakeOptions) *transporttest.Fake {
	t.Helper()
	leakcheck.Check(t)
	f := transporttest.NewFake(opts)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// consumeAsync runs f.Consume on a goroutine; the returned function waits for
// it and returns its error.
func consumeAsync(t *testing.T, f *transporttest.Fake, ctx context.Context, h transport.Handler) func() error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f.Consume(ctx, h) }()
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() {
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				err = errors.New("Consume did not return")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = f.Close(); _ = wait() })
	return wait
}

func TestFakePoisonsLentBytes(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	if err := f.Emit([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := f.Emit([]byte("second")); err != nil {
		t.Fatal(err)
	}
	var kept [][]byte
	var seen []string
	err := f.Consume(context.Background(), func(r transport.Record) error {
		seen = append(seen, string(r.Sample))
		kept = append(kept, r.Sample) // the bug poisoning exposes
		if len(kept) == 2 {
			return errors.New("stop")
		}
		return nil
	})
	if err == nil {
		t.Fatal("Consume returned nil")
	}
	if seen[0] != "first" || seen[1] != "second" {
		t.Fatalf("handler saw %q, want [first second]", seen)
	}
	for i, b := range kept {
		if !bytes.Equal(b, bytes.Repeat([]byte{0xA5}, len(b))) {
			t.Errorf("sample %d kept after its handler returned is %q, want it overwritten with 0xA5", i, b)
		}
	}
}

func TestFakeKeepLentBytes(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{KeepLentBytes: true})
	_ = f.Emit([]byte("first"))
	var kept []byte
	err := f.Consume(context.Background(), func(r transport.Record) error {
		kept = r.Sample
		return errors.New("stop")
	})
	if err == nil {
		t.Fatal("Consume returned nil")
	}
	if string(kept) != "first" {
		t.Errorf("kept sample is %q with KeepLentBytes, want %q", kept, "first")
	}
}

func TestFakeEmitCopies(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	buf := []byte("abc")
	_ = f.Emit(buf)
	copy(buf, "xyz")
	var got string
	_ = f.Consume(context.Background(), func(r transport.Record) error {
		got = string(r.Sample)
		return errors.New("stop")
	})
	if got != "abc" {
		t.Errorf("delivered %q, want the bytes as emitted, %q", got, "abc")
	}
}

func TestFakeHandlerCannotAppendIntoNextSample(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{KeepLentBytes: true})
	_ = f.Emit([]byte("ab"))
	_ = f.Emit([]byte("cd"))
	var got []string
	_ = f.Consume(context.Background(), func(r transport.Record) error {
		got = append(got, string(r.Sample))
		_ = append(r.Sample, "XX"...)
		if len(got) == 2 {
			return errors.New("stop")
		}
		return nil
	})
	if len(got) != 2 || got[1] != "cd" {
		t.Errorf("delivered %q, want [ab cd]", got)
	}
}

func TestFakeEmitRecordKeepsCPUAndSource(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{Kind: transport.KindPerfbuf})
	if f.Kind() != transport.KindPerfbuf {
		t.Errorf("Kind() = %v, want perfbuf", f.Kind())
	}
	_ = f.EmitRecord(transport.Record{Sample: []byte{1}, CPU: 3, Source: 2})
	_ = f.Emit(nil)
	var got []transport.Record
	_ = f.Consume(context.Background(), func(r transport.Record) error {
		got = append(got, transport.Record{Sample: bytes.Clone(r.Sample), CPU: r.CPU, Source: r.Source})
		if len(got) == 2 {
			return errors.New("stop")
		}
		return nil
	})
	if len(got) != 2 || got[0].CPU != 3 || got[0].Source != 2 || got[1].CPU != transport.NoCPU || got[1].Source != 0 || len(got[1].Sample) != 0 {
		t.Errorf("delivered %+v, want CPU 3 source 2, then an empty sample with CPU -1 source 0", got)
	}
}

func TestFakeDefaultKind(t *testing.T) {
	if k := transporttest.NewFake(transporttest.FakeOptions{}).Kind(); k != transport.KindFake {
		t.Errorf("Kind() = %v, want fake", k)
	}
}

func TestFakeEmitAfterClose(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	_ = f.Close()
	if err := f.Emit([]byte("x")); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Emit after Close = %v, want ErrClosed", err)
	}
	if err := f.EmitRecord(transport.Record{}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("EmitRecord after Close = %v, want ErrClosed", err)
	}
	if err := f.EmitLost(1); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("EmitLost after Close = %v, want ErrClosed", err)
	}
	if s := f.Stats(); s.Lost != 0 || s.PendingBytes != 0 {
		t.Errorf("Stats after Close = %+v, want nothing lost or pending", s)
	}
}

func TestFakeEmitLost(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	_ = f.EmitLost(3)
	_ = f.EmitLost(4)
	if s := f.Stats(); s.Lost != 7 || !s.LostKnown {
		t.Errorf("Stats = %+v, want Lost 7, LostKnown", s)
	}
}

func TestFakeCapacity(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{Capacity: 2})
	for i, want := range []error{nil, nil, transporttest.ErrFull, transporttest.ErrFull} {
		if err := f.Emit([]byte{byte(i)}); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Emit %d = %v, want %v", i, err, want)
		}
	}
	if s := f.Stats(); s.Lost != 2 || s.PendingBytes != 2 {
		t.Errorf("Stats = %+v, want Lost 2, PendingBytes 2", s)
	}
	// Consuming makes room again.
	var got []byte
	_ = f.Consume(context.Background(), func(r transport.Record) error {
		got = append(got, r.Sample...)
		if len(got) == 2 {
			return errors.New("stop")
		}
		return nil
	})
	if !bytes.Equal(got, []byte{0, 1}) {
		t.Errorf("delivered %v, want [0 1]", got)
	}
	if err := f.Emit([]byte{9}); err != nil {
		t.Errorf("Emit after consuming = %v", err)
	}
	if s := f.Stats(); s.PendingBytes != 1 || s.Records != 2 || s.Bytes != 2 {
		t.Errorf("Stats = %+v, want PendingBytes 1, Records 2, Bytes 2", s)
	}
}

// As in a kernel buffer, a record being handled no longer takes room.
func TestFakeCapacityFreedWhenHandedOver(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{Capacity: 1})
	if err := f.Emit([]byte("a")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := f.Consume(context.Background(), func(r transport.Record) error {
		got = append(got, string(r.Sample))
		if len(got) == 1 {
			if err := f.Emit([]byte("b")); err != nil {
				t.Errorf("Emit while the only record is with the handler: %v", err)
			}
			if err := f.Emit([]byte("c")); !errors.Is(err, transporttest.ErrFull) {
				t.Errorf("second Emit = %v, want ErrFull", err)
			}
			return nil
		}
		return errStop
	})
	if !errors.Is(err, errStop) || len(got) != 2 || got[1] != "b" {
		t.Errorf("Consume = %v after %q, want [a b]", err, got)
	}
}

func TestFakeWaitDelivered(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	ctx := context.Background()
	if err := f.WaitDelivered(ctx); err != nil {
		t.Fatalf("WaitDelivered with nothing emitted: %v", err)
	}
	var mu sync.Mutex
	handled := 0
	release := make(chan struct{})
	wait := consumeAsync(t, f, ctx, func(r transport.Record) error {
		<-release
		mu.Lock()
		handled++
		mu.Unlock()
		return nil
	})
	for range 3 {
		_ = f.Emit([]byte("x"))
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.WaitDelivered(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitDelivered with a blocked handler = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := f.WaitDelivered(ctx); err != nil {
		t.Fatalf("WaitDelivered: %v", err)
	}
	mu.Lock()
	if handled != 3 {
		t.Errorf("WaitDelivered returned after %d of 3 handler calls", handled)
	}
	mu.Unlock()
	_ = f.Close()
	if err := wait(); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Consume = %v, want ErrClosed", err)
	}
}

func TestFakeWaitDeliveredEndsOnClose(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	_ = f.Emit([]byte("never consumed"))
	done := make(chan error, 1)
	go func() { done <- f.WaitDelivered(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	_ = f.Close()
	select {
	case err := <-done:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("WaitDelivered = %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("WaitDelivered did not return after Close")
	}
}

func TestFakeCloseDiscardsQueue(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	_ = f.Emit([]byte("abc"))
	if s := f.Stats(); s.PendingBytes != 3 {
		t.Errorf("PendingBytes = %d, want 3", s.PendingBytes)
	}
	_ = f.Close()
	if s := f.Stats(); s.PendingBytes != 0 {
		t.Errorf("PendingBytes after Close = %d, want 0", s.PendingBytes)
	}
}

// A long-lived Fake that is never quite empty reuses its queue.
func TestFakeQueueReclaimed(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	const total = 20000
	_ = f.Emit([]byte{0})
	emitted := 1
	consumed := 0
	err := f.Consume(context.Background(), func(r transport.Record) error {
		consumed++
		if r.Sample[0] != byte(consumed-1) {
			return fmt.Errorf("record %d carries %d", consumed-1, r.Sample[0])
		}
		// Keep two waiting at all times.
		for emitted < total && emitted-consumed < 2 {
			_ = f.Emit([]byte{byte(emitted)})
			emitted++
		}
		if consumed == total {
			return errors.New("done")
		}
		return nil
	})
	if err == nil || err.Error() != "transporttest: fake: handler: done" {
		t.Fatalf("Consume = %v", err)
	}
}

func TestFakeZeroAllocsPerRecord(t *testing.T) {
	sample := make([]byte, 64)
	ctx := context.Background()
	// Emit allocates (it copies), and so does each Consume call a little;
	// compare runs of different lengths to see the cost per record.
	run := func(n int, consume bool) func() {
		return func() {
			f := transporttest.NewFake(transporttest.FakeOptions{})
			for range n {
				_ = f.Emit(sample)
			}
			if consume {
				count := 0
				_ = f.Consume(ctx, func(r transport.Record) error {
					if count++; count == n {
						return errStop
					}
					return nil
				})
			}
			_ = f.Close()
		}
	}
	const short, long = 10, 1010
	consumeShort := testing.AllocsPerRun(10, run(short, true)) - testing.AllocsPerRun(10, run(short, false))
	consumeLong := testing.AllocsPerRun(10, run(long, true)) - testing.AllocsPerRun(10, run(long, false))
	if perRecord := (consumeLong - consumeShort) / (long - short); perRecord >= 0.01 {
		t.Errorf("Consume allocates %.3f times per record (%.0f allocations for %d records, %.0f for %d), want 0",
			perRecord, consumeLong, long, consumeShort, short)
	}
}

var errStop = errors.New("stop")

func TestFakeInterleavedEmitAndConsume(t *testing.T) {
	f := newFake(t, transporttest.FakeOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 5000
	var mu sync.Mutex
	var got []uint64
	wait := consumeAsync(t, f, ctx, func(r transport.Record) error {
		mu.Lock()
		got = append(got, binary.LittleEndian.Uint64(r.Sample))
		mu.Unlock()
		return nil
	})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range n {
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], uint64(w)<<32|uint64(i))
				_ = f.EmitRecord(transport.Record{Sample: b[:], CPU: int32(w)})
			}
		})
	}
	wg.Wait()
	if err := f.WaitDelivered(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("Consume = %v, want Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	next := make([]uint64, 4)
	for _, v := range got {
		w, i := v>>32, v&0xffffffff
		if i != next[w] {
			t.Fatalf("writer %d: got %d, want %d", w, i, next[w])
		}
		next[w]++
	}
	if len(got) != 4*n {
		t.Errorf("got %d records, want %d", len(got), 4*n)
	}
	if s := f.Stats(); s.Records != 4*n || s.PendingBytes != 0 {
		t.Errorf("Stats = %+v", s)
	}
}
