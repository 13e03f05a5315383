package perfbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// BenchmarkReorder measures the cost of the re-ordering stage: the same
// prefilled per-CPU buffers (both CPUs) read plainly and through the stage.
func BenchmarkReorder(b *testing.B) {
	for _, tc := range []struct {
		name    string
		reorder *transport.Reorder
	}{
		{"plain", nil},
		{"reorder-1ms", &transport.Reorder{Timestamp: producer.Ktime, Window: time.Millisecond}},
		{"reorder-100ms", &transport.Reorder{Timestamp: producer.Ktime, Window: 100 * time.Millisecond}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			perCPU := max(b.N/2, 1000)
			p := streamtest.Load(b, producer.Config{Kind: producer.Perf, SampleSize: 128})
			c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: 256 << 20, Reorder: tc.reorder})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := p.RunParallel(producer.AllCPUs(), perCPU); err != nil {
				b.Fatal(err)
			}
			want := streamtest.Attempted(b, p)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var n uint64
			err = c.Consume(context.Background(), func(transport.Record) error {
				if n++; n == want {
					return streamtest.ErrDone
				}
				return nil
			})
			elapsed := time.Since(start)
			if err != streamtest.ErrDone && n != want {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(c.Stats().Late), "late")
		})
	}
}
