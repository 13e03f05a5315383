package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/metrics"
)

// metricsServer serves one consumer's metrics on /metrics.
type metricsServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// serveMetrics exports c under name on addr until stop.
func serveMetrics(addr, name string, c transport.Consumer, stats func() transport.Stats) (*metricsServer, error) {
	col := metrics.NewCollector()
	if err := col.Add(name, c, metrics.WithStats(func(transport.Consumer) transport.Stats { return stats() })); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	m := &metricsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { m.done <- m.srv.Serve(ln) }()
	return m, nil
}

func (m *metricsServer) url() string { return "http://" + m.ln.Addr().String() + "/metrics" }

// stop waits for scrapes in flight: they read the consumer's Stats, so
// they must end before it is closed.
func (m *metricsServer) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	if serveErr := <-m.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
