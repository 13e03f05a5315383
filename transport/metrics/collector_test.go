package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// consumeN consumes from c until n records arrived, then stops.
func consumeN(t *testing.T, c transport.Consumer, h transport.Handler, n uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := errors.New("done")
	var got uint64
	err := c.Consume(ctx, func(r transport.Record) error {
		if h != nil {
			if err := h(r); err != nil {
				return err
			}
		}
		if got++; got == n {
			return done
		}
		return nil
	})
	if !errors.Is(err, done) {
		t.Fatalf("consume: %v after %d records, want %d", err, got, n)
	}
}

func TestCollectorFake(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{Kind: transport.KindPerfbuf})
	defer fake.Close()
	for i := range 3 {
		if err := fake.EmitRecord(transport.Record{Sample: make([]byte, 10+i), CPU: 1}); err != nil {
			t.Fatal(err)
		}
	}
	consumeN(t, fake, nil, 3)
	if err := fake.EmitLost(4); err != nil {
		t.Fatal(err)
	}
	if err := fake.Emit(make([]byte, 7)); err != nil { // waits: pending
		t.Fatal(err)
	}

	dec, err := event.NewDecoder[uint64]()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode([]byte{1}); err == nil {
		t.Fatal("a 1-byte sample decoded into a uint64")
	}
	other := transporttest.NewFake(transporttest.FakeOptions{})
	defer other.Close()

	col := metrics.NewCollector()
	if err := col.Add("exec", fake, metrics.WithStats(dec.Stats)); err != nil {
		t.Fatal(err)
	}
	if err := col.Add("idle", other); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP bpfstream_buffer_bytes Kernel buffer memory the consumer holds.
# TYPE bpfstream_buffer_bytes gauge
bpfstream_buffer_bytes{consumer="exec",transport="perfbuf"} 0
bpfstream_buffer_bytes{consumer="idle",transport="fake"} 0
# HELP bpfstream_bytes_total Bytes of the records handed to the handler (perfbuf: with the kernel's padding).
# TYPE bpfstream_bytes_total counter
bpfstream_bytes_total{consumer="exec",transport="perfbuf"} 33
bpfstream_bytes_total{consumer="idle",transport="fake"} 0
# HELP bpfstream_decode_errors_total Records that arrived but failed to decode.
# TYPE bpfstream_decode_errors_total counter
bpfstream_decode_errors_total{consumer="exec",transport="perfbuf"} 1
bpfstream_decode_errors_total{consumer="idle",transport="fake"} 0
# HELP bpfstream_late_total Records a re-ordering stage could not place in timestamp order.
# TYPE bpfstream_late_total counter
bpfstream_late_total{consumer="exec",transport="perfbuf"} 0
bpfstream_late_total{consumer="idle",transport="fake"} 0
# HELP bpfstream_lost_known 1 when bpfstream_lost_total counts every loss, 0 when losses are invisible (ringbuf without a drop counter).
# TYPE bpfstream_lost_known gauge
bpfstream_lost_known{consumer="exec",transport="perfbuf"} 1
bpfstream_lost_known{consumer="idle",transport="fake"} 1
# HELP bpfstream_lost_total Samples emitted that never reached user space.
# TYPE bpfstream_lost_total counter
bpfstream_lost_total{consumer="exec",transport="perfbuf"} 4
bpfstream_lost_total{consumer="idle",transport="fake"} 0
# HELP bpfstream_pending_bytes Bytes waiting in the ring buffer(s) (ringbuf).
# TYPE bpfstream_pending_bytes gauge
bpfstream_pending_bytes{consumer="exec",transport="perfbuf"} 7
bpfstream_pending_bytes{consumer="idle",transport="fake"} 0
# HELP bpfstream_records_total Records handed to the handler.
# TYPE bpfstream_records_total counter
bpfstream_records_total{consumer="exec",transport="perfbuf"} 3
bpfstream_records_total{consumer="idle",transport="fake"} 0
`
	names := []string{
		"bpfstream_buffer_bytes", "bpfstream_bytes_total", "bpfstream_decode_errors_total",
		"bpfstream_late_total", "bpfstream_lost_known", "bpfstream_lost_total",
		"bpfstream_pending_bytes", "bpfstream_records_total",
	}
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	// The Fake has no per-CPU loss counts: no cpu series.
	if n := testutil.CollectAndCount(col, "bpfstream_cpu_lost_total"); n != 0 {
		t.Errorf("%d bpfstream_cpu_lost_total series from fakes, want 0", n)
	}
	// One series of every other metric per consumer.
	if n := testutil.CollectAndCount(col); n != 2*9 {
		t.Errorf("%d series, want %d", n, 2*9)
	}
	if problems, err := testutil.CollectAndLint(col); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	// Scrapes read Stats afresh.
	consumeN(t, fake, nil, 1)
	if got := testutil.ToFloat64(only(t, col, "exec", "bpfstream_records_total")); got != 4 {
		t.Errorf("records after one more: %v, want 4", got)
	}

	if !col.Remove("idle") || col.Remove("idle") {
		t.Error("Remove did not report the consumer exactly once")
	}
	if n := testutil.CollectAndCount(col, "bpfstream_records_total"); n != 1 {
		t.Errorf("%d records series after Remove, want 1", n)
	}
}

// only returns a collector of just the named metric of the named consumer.
func only(t *testing.T, col prometheus.Collector, consumer, name string) prometheus.Collector {
	t.Helper()
	ch := make(chan prometheus.Metric, 64)
	col.Collect(ch)
	close(ch)
	var found []prometheus.Metric
	for m := range ch {
		if strings.Contains(m.Desc().String(), `"`+name+`"`) && labelOf(t, m, metrics.LabelConsumer) == consumer {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s metrics for %s, want 1", len(found), name, consumer)
	}
	return constCollector{found[0]}
}

type constCollector struct{ m prometheus.Metric }

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.Desc() }
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

func TestCollectorAddErrors(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	col := metrics.NewCollector()
	if err := col.Add("a", fake); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    transport.Consumer
		opts []metrics.Option
		msg  string
	}{
		{"", fake, nil, "the name is empty"},
		{"a", fake, nil, `"a": the name is already added`},
		{"b", nil, nil, "nil"},
		{"c", fake, []metrics.Option{metrics.WithStats(nil)}, "the WithStats function is nil"},
	} {
		err := col.Add(tc.name, tc.c, tc.opts...)
		if !errors.Is(err, transport.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Add(%q): %v, want ErrInvalidOptions saying %q", tc.name, err, tc.msg)
		}
	}
	if n := testutil.CollectAndCount(col, "bpfstream_records_total"); n != 1 {
		t.Errorf("%d consumers after failed Adds, want 1", n)
	}
}

// TestCollectorRegistry registers the Collector: the registry checks the
// descriptions against what is collected, and that no series repeats.
func TestCollectorRegistry(t *testing.T) {
	fake := transporttest.NewFake(transporttest.FakeOptions{Kind: transport.KindRingbuf})
	defer fake.Close()
	col := metrics.NewCollector()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(col); err != nil {
		t.Fatal(err)
	}
	if err := col.Add("x", fake); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) != 9 {
		t.Errorf("%d families, want 9 (no cpu_lost without per-CPU counts)", len(fams))
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if got := labels(m.GetLabel()); got != "consumer=x,transport=ringbuf" {
				t.Errorf("%s labels %s", f.GetName(), got)
			}
		}
	}
}
