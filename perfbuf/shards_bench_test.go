package perfbuf_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

var errAll = errors.New("all records")

// BenchmarkShards measures a consumer of every CPU's buffer, all busy,
// drained by one goroutine or by one per CPU (Options.Shards): each op
// prefills every CPU's buffer with perCPU 64-byte records, then times the
// consumer taking all of them.
func BenchmarkShards(b *testing.B) {
	cpus := producer.AllCPUs()
	p := streamtest.Load(b, producer.Config{Kind: producer.Perf, SampleSize: 64})
	for _, shards := range []int{1, len(cpus)} {
		b.Run(fmt.Sprintf("cpus=%d/shards=%d", len(cpus), shards), func(b *testing.B) {
			benchShards(b, p, cpus, shards)
		})
	}
}

func benchShards(b *testing.B, p *producer.Producer, cpus []int, shards int) {
	const perCPU = 150_000
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: 16 << 20, Shards: shards})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	want := int64(len(cpus) * perCPU)
	// Per CPU, a line of its own: the shards share nothing but the count
	// of records, which moves once per CPU's buffer.
	type slot struct {
		n   int64
		sum int64
		_   [48]byte
	}
	slots := make([]slot, cpus[len(cpus)-1]+1)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := p.RunParallel(cpus, perCPU); err != nil {
			b.Fatal(err)
		}
		clear(slots)
		var done atomic.Int64
		b.StartTimer()
		err := c.Consume(context.Background(), func(r transport.Record) error {
			s := &slots[r.CPU]
			s.sum += int64(r.Sample[0])
			if s.n++; s.n == perCPU && done.Add(1) == int64(len(cpus)) {
				return errAll
			}
			return nil
		})
		if !errors.Is(err, errAll) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
