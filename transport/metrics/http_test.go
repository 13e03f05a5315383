package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
)

// scrape GETs url with a real HTTP client and parses the exposition text.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want text/plain", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// value returns the one value of family name whose labels are exactly want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name, want string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no %s in the scrape", name)
	}
	for _, m := range f.GetMetric() {
		if labels(m.GetLabel()) != want {
			continue
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no %s{%s} in the scrape", name, want)
	return 0
}

// TestCollectorHTTP serves a registry with a live ringbuf consumer over
// HTTP, scrapes it while the producer runs (counters never go down), and
// checks the final values.
func TestCollectorHTTP(t *testing.T) {
	p := loadProducer(t, producer.Config{Kind: producer.RingbufReserve, SampleSize: 64})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{DropCounter: p.Drops()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	col := metrics.NewCollector()
	if err := col.Add("http", c); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	go func() { consumed <- c.Consume(ctx, func(r transport.Record) error { return nil }) }()
	produced := make(chan error, 1)
	const perCPU = 20000
	cpus := producer.AllCPUs()
	go func() { produced <- p.RunParallel(cpus, perCPU) }()

	const l = "consumer=http,transport=ringbuf"
	want := float64(perCPU * len(cpus))
	var prev float64
	deadline := time.Now().Add(time.Minute)
	for {
		fams := scrape(t, srv.URL)
		got := value(t, fams, "bpfstream_records_total", l) + value(t, fams, "bpfstream_lost_total", l)
		if got < prev {
			t.Fatalf("records + lost went down between scrapes: %v, then %v", prev, got)
		}
		prev = got
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records + lost %v after a minute, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-consumed; !errors.Is(err, context.Canceled) {
		t.Fatalf("consume: %v", err)
	}

	fams := scrape(t, srv.URL)
	dropped, err := p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if got := value(t, fams, "bpfstream_lost_total", l); got != float64(dropped) {
		t.Errorf("bpfstream_lost_total %v, the producer dropped %d", got, dropped)
	}
	records := value(t, fams, "bpfstream_records_total", l)
	if records+float64(dropped) != want {
		t.Errorf("bpfstream_records_total %v + dropped %d != produced %v", records, dropped, want)
	}
	if got := value(t, fams, "bpfstream_bytes_total", l); got != records*64 {
		t.Errorf("bpfstream_bytes_total %v, want %v", got, records*64)
	}
	if got := value(t, fams, "bpfstream_lost_known", l); got != 1 {
		t.Errorf("bpfstream_lost_known %v", got)
	}
	if got := value(t, fams, "bpfstream_buffer_bytes", l); got != producer.DefaultRingSize {
		t.Errorf("bpfstream_buffer_bytes %v, want %d", got, producer.DefaultRingSize)
	}
	if got := value(t, fams, "bpfstream_pending_bytes", l); got != 0 {
		t.Errorf("bpfstream_pending_bytes %v after draining everything", got)
	}
	if got := value(t, fams, "bpfstream_wakeups_total", l); got < 1 {
		t.Errorf("bpfstream_wakeups_total %v", got)
	}
	if fams["bpfstream_records_total"].GetType() != dto.MetricType_COUNTER || fams["bpfstream_pending_bytes"].GetType() != dto.MetricType_GAUGE {
		t.Error("wrong metric types in the scrape")
	}
}
