package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// Export a consumer's counters on /metrics. A Fake stands in for a ringbuf
// or perfbuf consumer here; the code is the same.
func Example() {
	c := transporttest.NewFake(transporttest.FakeOptions{})
	defer c.Close()

	col := metrics.NewCollector()
	if err := col.Add("exec", c); err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	// A real agent: http.Handle("/metrics", promhttp.HandlerFor(reg, ...))
	// and http.ListenAndServe.
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	// Two records arrive and are handled; one sample is lost.
	_ = c.Emit([]byte("hello"))
	_ = c.Emit([]byte("world"))
	_ = c.EmitLost(1)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_ = c.Consume(ctx, func(transport.Record) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(err)
	}
	for line := range strings.Lines(string(text)) {
		for _, name := range []string{"bpfstream_records_total", "bpfstream_lost_total", "bpfstream_bytes_total"} {
			if strings.HasPrefix(line, name+"{") {
				fmt.Print(line)
			}
		}
	}
	// Output:
	// bpfstream_bytes_total{consumer="exec",transport="fake"} 10
	// bpfstream_lost_total{consumer="exec",transport="fake"} 1
	// bpfstream_records_total{consumer="exec",transport="fake"} 2
}
