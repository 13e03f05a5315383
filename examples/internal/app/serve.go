package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bpfstream/bpfstream/examples/internal/output"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
)

// shutdownTimeout bounds how long exit waits for scrapes in flight.
const shutdownTimeout = 5 * time.Second

// metricsServer serves a consumer's metrics on /metrics.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// listenMetrics listens on addr. The server starts with serve, once there is
// a consumer: listening first reports a bad or busy address before any BPF is
// loaded.
func listenMetrics(addr string) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &metricsServer{ln: ln, done: make(chan error, 1)}, nil
}

// URL is the address of the metrics endpoint, with the port the listener
// got (for an address with port 0).
func (m *metricsServer) URL() string { return "http://" + m.ln.Addr().String() + "/metrics" }

// serve exports c, under name and with a program label, until stop.
func (m *metricsServer) serve(name, program string, c transport.Consumer, stats func(transport.Consumer) transport.Stats) error {
	col := metrics.NewCollector()
	if err := col.Add(name, c, metrics.WithStats(stats)); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := prometheus.WrapRegistererWith(prometheus.Labels{"program": program}, reg).Register(col); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { m.done <- m.srv.Serve(m.ln) }()
	return nil
}

// stop shuts the server down, waiting for scrapes in flight (they read the
// consumer's Stats, so they must end before it is closed), or closes the
// listener if serve was never called.
func (m *metricsServer) stop() error {
	if m.srv == nil {
		return m.ln.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serveErr := <-m.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// reportStats prints a one-line summary of stats() to w every interval
// until the returned stop is called; stop waits for the last line, and may be
// called more than once.
func reportStats(w io.Writer, name string, every time.Duration, stats func() transport.Stats) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		prev, last := stats(), time.Now()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				s := stats()
				fmt.Fprintln(w, statsLine(name, prev, s, now.Sub(last)))
				prev, last = s, now
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		wg.Wait()
	}
}

// statsLine is the -stats line: the rate of records over the last interval,
// losses and bytes waiting in the ring so far.
func statsLine(name string, prev, s transport.Stats, elapsed time.Duration) string {
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Records-prev.Records) / elapsed.Seconds()
	}
	return fmt.Sprintf("%s: %.1f records/s, %s, %s, %s pending", name, rate,
		output.Count(s.Records, "record"), output.Losses(s), output.Count(s.PendingBytes, "byte"))
}
