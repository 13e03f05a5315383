package transport_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/soak"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// hardCase is one transport and reader backend under test.
type hardCase struct {
	name string
	kind producer.Kind
	// open makes a consumer of p's map; perCPU sizes perfbuf buffers.
	open func(p *producer.Producer, perCPU int) (transport.Consumer, error)
}

func hardCases() []hardCase {
	perf := func(r perfbuf.Backend) func(*producer.Producer, int) (transport.Consumer, error) {
		return func(p *producer.Producer, perCPU int) (transport.Consumer, error) {
			return perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: perCPU, Backend: r})
		}
	}
	ring := func(r ringbuf.Backend) func(*producer.Producer, int) (transport.Consumer, error) {
		return func(p *producer.Producer, _ int) (transport.Consumer, error) {
			return ringbuf.New(p.Map(), ringbuf.Options{DropCounter: p.Drops(), Backend: r})
		}
	}
	return []hardCase{
		{"perfbuf/native", producer.Perf, perf(perfbuf.BackendNative)},
		{"perfbuf/cilium", producer.Perf, perf(perfbuf.BackendCilium)},
		{"ringbuf/native", producer.RingbufReserve, ring(ringbuf.BackendNative)},
		{"ringbuf/cilium", producer.RingbufReserve, ring(ringbuf.BackendCilium)},
	}
}

// tap wraps a consumer and records the sequence number of every record its
// handler is given, which is what Stats.Records counts. The channel API
// calls Consume with its own handler, so the tap sees what the library took
// from the kernel, and the test compares it with what the receiver got.
type tap struct {
	transport.Consumer
	chk     *streamtest.Checker // shared across consumers of one producer
	handled []uint64            // written by the consuming goroutine only
	err     error               // first bad record
}

func (t *tap) Consume(ctx context.Context, h transport.Handler) error {
	if h == nil {
		return t.Consumer.Consume(ctx, nil)
	}
	return t.Consumer.Consume(ctx, func(r transport.Record) error {
		t.take(r)
		return h(r)
	})
}

// ConsumeBatches taps each record of each batch, as Consume does.
func (t *tap) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	if h == nil {
		return t.Consumer.ConsumeBatches(ctx, nil)
	}
	return t.Consumer.ConsumeBatches(ctx, func(rs []transport.Record) error {
		for _, r := range rs {
			t.take(r)
		}
		return h(rs)
	})
}

// ConsumeTo taps each record, as Consume does, so that the channel API
// (which uses a transport.ConsumerTo's ConsumeTo) runs on the wrapped
// consumer's own path: idle flushes, limits and loans.
func (t *tap) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	if h := r.Record; h != nil {
		r.Record = func(rec transport.Record) error {
			t.take(rec)
			return h(rec)
		}
	}
	if h := r.Batch; h != nil {
		r.Batch = func(rs []transport.Record, loan transport.Loan) error {
			for _, rec := range rs {
				t.take(rec)
			}
			return h(rs, loan)
		}
	}
	return t.Consumer.(transport.ConsumerTo).ConsumeTo(ctx, r)
}

// take checks r and notes its sequence number.
func (t *tap) take(r transport.Record) {
	hdr, err := producer.ParseHeader(r.Sample)
	if err == nil {
		err = t.chk.Add(r)
	}
	if err != nil && t.err == nil {
		t.err = err
	}
	t.handled = append(t.handled, hdr.Seq)
}

// seqOf returns the producer sequence number of a sample, or fails tb.
func seqOf(tb testing.TB, sample []byte) uint64 {
	tb.Helper()
	h, err := producer.ParseHeader(sample)
	if err != nil {
		tb.Fatal(err)
	}
	return h.Seq
}

// within runs f on a new goroutine and fails tb, with every goroutine's
// stack, when it does not return within d: a deadlock must fail the test, not
// hang it until the global timeout.
func within(tb testing.TB, d time.Duration, what string, f func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		tb.Fatalf("%s did not return within %v: deadlock?\n\n%s", what, d, soak.Stacks())
	}
}

// produceLoop keeps p producing, alternating CPUs, one Run of chunk samples
// at a time, until the test ends or the returned stop is called. Samples are
// committed in seq order (one producing thread at a time), so a ring buffer
// holds them in seq order.
func produceLoop(tb testing.TB, p *producer.Producer, chunk int, ncpu int) func() {
	tb.Helper()
	l := soak.Start(func(i int) error { return p.Run(i%ncpu, chunk) })
	var once sync.Once
	stop := func() {
		once.Do(func() {
			if err := l.Stop(); err != nil {
				tb.Errorf("producer: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
