package metrics_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport/metrics"
)

// loadProducer loads the in-kernel test producer, skipping (or failing in
// CI) without privileges.
func loadProducer(t *testing.T, cfg producer.Config) *producer.Producer {
	t.Helper()
	privileged.Require(t)
	p, err := producer.Load(cfg)
	if err != nil {
		t.Fatalf("load producer: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// counts reads what the producer attempted and dropped.
func counts(t *testing.T, p *producer.Producer) (attempted, dropped uint64) {
	t.Helper()
	attempted, err := p.Attempted()
	if err != nil {
		t.Fatal(err)
	}
	dropped, err = p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 || dropped >= attempted {
		t.Fatalf("producer dropped %d of %d: the test needs some of each", dropped, attempted)
	}
	return attempted, dropped
}

// series is one metric's exposition text for one consumer.
func series(name, typ, help, labels string, v uint64) string {
	return fmt.Sprintf("# HELP %s %s\n# TYPE %s %s\n%s{%s} %d\n", name, help, name, typ, name, labels, v)
}

// TestCollectorRingbuf overfills a one-page ring buffer with the test
// producer before consuming, so that an exact number of samples is dropped
// (and counted by the program's drop counter), then checks every metric.
func TestCollectorRingbuf(t *testing.T) {
	const sampleSize = 24 // a 32-byte record with the ring's 8-byte header
	page := os.Getpagesize()
	p := loadProducer(t, producer.Config{Kind: producer.RingbufOutput, SampleSize: sampleSize, RingSize: page})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{DropCounter: p.Drops()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const produced = 300
	if err := p.Run(0, produced); err != nil {
		t.Fatal(err)
	}
	attempted, dropped := counts(t, p)
	if attempted != produced {
		t.Fatalf("attempted %d, want %d", attempted, produced)
	}
	// The kernel keeps one byte of the ring free: it holds
	// (page-1)/32 records.
	if want := uint64(produced - (page-1)/32); dropped != want {
		t.Fatalf("producer dropped %d, want %d for a %d-byte ring", dropped, want, page)
	}
	delivered := attempted - dropped
	consumeN(t, c, nil, delivered)

	col := metrics.NewCollector()
	if err := col.Add("rb", c); err != nil {
		t.Fatal(err)
	}
	const l = `consumer="rb",transport="ringbuf"`
	want := series("bpfstream_records_total", "counter", "Records handed to the handler.", l, delivered) +
		series("bpfstream_bytes_total", "counter", "Bytes of the records handed to the handler (perfbuf: with the kernel's padding).", l, delivered*sampleSize) +
		series("bpfstream_lost_total", "counter", "Samples emitted that never reached user space.", l, dropped) +
		series("bpfstream_lost_known", "gauge", "1 when bpfstream_lost_total counts every loss, 0 when losses are invisible (ringbuf without a drop counter).", l, 1) +
		series("bpfstream_decode_errors_total", "counter", "Records that arrived but failed to decode.", l, 0) +
		series("bpfstream_late_total", "counter", "Records a re-ordering stage could not place in timestamp order.", l, 0) +
		series("bpfstream_pending_bytes", "gauge", "Bytes waiting in the ring buffer(s) (ringbuf).", l, 0) +
		series("bpfstream_buffer_bytes", "gauge", "Kernel buffer memory the consumer holds.", l, uint64(page))
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), metricNames(want)...); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(col, "bpfstream_cpu_lost_total"); n != 0 {
		t.Errorf("%d per-CPU loss series for ringbuf, want 0", n)
	}
	// The records were all waiting when Consume started: at least one
	// drain, and no more than one per record.
	if w := c.Stats().Wakeups; w < 1 || w > delivered {
		t.Errorf("wakeups %d, want 1..%d", w, delivered)
	}
	if got := testutil.ToFloat64(only(t, col, "rb", "bpfstream_wakeups_total")); got != float64(c.Stats().Wakeups) {
		t.Errorf("bpfstream_wakeups_total %v, Stats.Wakeups %d", got, c.Stats().Wakeups)
	}

	// Samples waiting in the ring show as pending bytes.
	if err := p.Run(0, 5); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(only(t, col, "rb", "bpfstream_pending_bytes")); got != 5*32 {
		t.Errorf("pending bytes with 5 records waiting: %v, want %d", got, 5*32)
	}
}

// TestCollectorRingbufLossesUnknown: without a drop counter, lost_known is
// 0.
func TestCollectorRingbufLossesUnknown(t *testing.T) {
	p := loadProducer(t, producer.Config{Kind: producer.RingbufReserve})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	col := metrics.NewCollector()
	if err := col.Add("blind", c); err != nil {
		t.Fatal(err)
	}
	want := series("bpfstream_lost_known", "gauge", "1 when bpfstream_lost_total counts every loss, 0 when losses are invisible (ringbuf without a drop counter).",
		`consumer="blind",transport="ringbuf"`, 0)
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "bpfstream_lost_known"); err != nil {
		t.Fatal(err)
	}
}

// TestCollectorPerfbuf overfills CPU 0's one-page perf buffer before
// consuming; the kernel counts the samples it could not write, and reports
// them with the next sample it writes on that CPU.
func TestCollectorPerfbuf(t *testing.T) {
	const sampleSize = 28 // 8-byte header + 4-byte size + 28 = 40: no padding
	page := os.Getpagesize()
	p := loadProducer(t, producer.Config{Kind: producer.Perf, SampleSize: sampleSize})
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: page, MaxSampleBytes: sampleSize})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const cpu = 0
	if err := p.Run(cpu, 300); err != nil {
		t.Fatal(err)
	}
	_, dropped := counts(t, p)
	// Drain the full buffer, then write one more sample: the kernel writes
	// its lost-sample report with it.
	consumeN(t, c, nil, 300-dropped)
	if err := p.Run(cpu, 1); err != nil {
		t.Fatal(err)
	}
	consumeN(t, c, nil, 1)
	attempted, dropped := counts(t, p)
	delivered := attempted - dropped
	if s := c.Stats(); s.Lost != dropped {
		t.Fatalf("Stats.Lost %d, the producer dropped %d", s.Lost, dropped)
	}

	col := metrics.NewCollector()
	if err := col.Add("pb", c); err != nil {
		t.Fatal(err)
	}
	const l = `consumer="pb",transport="perfbuf"`
	possible, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	perCPU := "# HELP bpfstream_cpu_lost_total Samples lost, by CPU (perfbuf).\n# TYPE bpfstream_cpu_lost_total counter\n"
	for i := range possible {
		n := uint64(0)
		if i == cpu {
			n = dropped
		}
		perCPU += fmt.Sprintf("bpfstream_cpu_lost_total{consumer=\"pb\",cpu=\"%d\",transport=\"perfbuf\"} %d\n", i, n)
	}
	want := series("bpfstream_records_total", "counter", "Records handed to the handler.", l, delivered) +
		series("bpfstream_bytes_total", "counter", "Bytes of the records handed to the handler (perfbuf: with the kernel's padding).", l, delivered*sampleSize) +
		series("bpfstream_lost_total", "counter", "Samples emitted that never reached user space.", l, dropped) +
		perCPU +
		series("bpfstream_lost_known", "gauge", "1 when bpfstream_lost_total counts every loss, 0 when losses are invisible (ringbuf without a drop counter).", l, 1) +
		series("bpfstream_decode_errors_total", "counter", "Records that arrived but failed to decode.", l, 0) +
		series("bpfstream_late_total", "counter", "Records a re-ordering stage could not place in timestamp order.", l, 0) +
		series("bpfstream_pending_bytes", "gauge", "Bytes waiting in the ring buffer(s) (ringbuf).", l, 0) +
		series("bpfstream_buffer_bytes", "gauge", "Kernel buffer memory the consumer holds.", l, c.Stats().BufferBytes)
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), metricNames(want)...); err != nil {
		t.Fatal(err)
	}
	if b := c.Stats().BufferBytes; b == 0 || b%uint64(page) != 0 || b > uint64(possible*page) {
		t.Errorf("BufferBytes %d: want one page per online CPU", b)
	}
	if w := testutil.ToFloat64(only(t, col, "pb", "bpfstream_wakeups_total")); w < 2 {
		t.Errorf("bpfstream_wakeups_total %v after two drains, want >= 2", w)
	}
}

// metricNames lists the metric names of exposition text, in order.
func metricNames(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	return names
}
