package metrics_test

import (
	"errors"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// TestLostTotalSurvivesClosedDropCounter: a ringbuf consumer's losses come
// from the program's drop counter; once the consumer is closed and the
// counter's owner closes it too, bpfstream_lost_total must still export the
// losses (before, it fell back to 0).
func TestLostTotalSurvivesClosedDropCounter(t *testing.T) {
	page := os.Getpagesize()
	p := loadProducer(t, producer.Config{Kind: producer.RingbufOutput, SampleSize: 24, RingSize: page})
	drops, err := p.Drops().Clone() // a handle of our own, to close
	if err != nil {
		t.Fatal(err)
	}
	defer drops.Close()
	c, err := ringbuf.New(p.Map(), ringbuf.Options{DropCounter: drops})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := p.Run(0, 300); err != nil {
		t.Fatal(err)
	}
	attempted, dropped := counts(t, p)
	consumeN(t, c, nil, attempted-dropped)

	col := metrics.NewCollector()
	if err := col.Add("rb", c); err != nil {
		t.Fatal(err)
	}
	lost := func() float64 { return testutil.ToFloat64(only(t, col, "rb", "bpfstream_lost_total")) }
	if got := lost(); got != float64(dropped) {
		t.Fatalf("bpfstream_lost_total %v while open, want %d", got, dropped)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := drops.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lost(); got != float64(dropped) {
		t.Errorf("bpfstream_lost_total %v after the drop counter was closed, want %d", got, dropped)
	}
	if s := c.Stats(); s.Lost != dropped || !s.LostKnown {
		t.Errorf("Stats after the drop counter was closed: Lost %d, LostKnown %v; want %d, true", s.Lost, s.LostKnown, dropped)
	}
}

// TestCountersNeverDecrease: a WithStats function that reports less than
// before (here, a counter that restarts) does not make an exported counter go
// down.
func TestCountersNeverDecrease(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	st := transport.Stats{Records: 10, Lost: 7, LostPerCPU: []uint64{3, 4}, Late: 2}
	col := metrics.NewCollector()
	if err := col.Add("f", fake, metrics.WithStats(func(transport.Consumer) transport.Stats { return st })); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(col); n == 0 {
		t.Fatal("nothing collected")
	}
	st = transport.Stats{Records: 4, Lost: 1, LostPerCPU: []uint64{5}}
	for name, want := range map[string]float64{
		"bpfstream_records_total": 10, "bpfstream_lost_total": 7, "bpfstream_late_total": 2,
	} {
		if got := testutil.ToFloat64(only(t, col, "f", name)); got != want {
			t.Errorf("%s %v after the source went down, want %v", name, got, want)
		}
	}
	if n := testutil.CollectAndCount(col, "bpfstream_cpu_lost_total"); n != 2 {
		t.Errorf("%d per-CPU series, want the 2 seen before", n)
	}
}

// TestAddRefusesConsumerTwice: one consumer under two names would be summed
// twice by any query over the consumer label.
func TestAddRefusesConsumerTwice(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	col := metrics.NewCollector()
	if err := col.Add("a", fake); err != nil {
		t.Fatal(err)
	}
	err := col.Add("b", fake)
	if !errors.Is(err, transport.ErrInvalidOptions) {
		t.Fatalf("Add of the same consumer under a second name: %v, want ErrInvalidOptions", err)
	}
	t.Log(err)
	if n := testutil.CollectAndCount(col, "bpfstream_records_total"); n != 1 {
		t.Errorf("%d series, want 1", n)
	}
	other := transporttest.NewFake(transporttest.FakeOptions{})
	defer other.Close()
	if err := col.Add("b", other); err != nil {
		t.Errorf("Add of another consumer: %v", err)
	}
}
