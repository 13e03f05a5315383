package ringbuf_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// BenchmarkShards measures a consumer of N rings, all busy, drained by one
// goroutine or by two (Options.Shards): each op prefills every ring with
// perRing 64-byte records, then times the consumer taking all of them.
func BenchmarkShards(b *testing.B) {
	for _, rings := range []int{16, 128} {
		prods := make([]*producer.Producer, rings)
		maps := make([]*ebpf.Map, rings)
		for i := range prods {
			prods[i] = streamtest.Load(b, producer.Config{Kind: producer.RingbufReserve, SampleSize: 64, RingSize: 256 << 10})
			maps[i] = prods[i].Map()
		}
		for _, shards := range []int{1, 2} {
			b.Run(fmt.Sprintf("rings=%d/shards=%d", rings, shards), func(b *testing.B) {
				benchShards(b, prods, maps, shards)
			})
		}
	}
}

var errAll = errors.New("all records")

func benchShards(b *testing.B, prods []*producer.Producer, maps []*ebpf.Map, shards int) {
	const perRing = 2000
	c, err := ringbuf.NewMulti(maps, ringbuf.Options{Shards: shards})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	want := int64(len(prods) * perRing)
	// Per ring, a line of its own: the shards share nothing but the
	// count of rings done, which moves once per ring.
	type slot struct {
		n   int64
		sum int64
		_   [48]byte
	}
	slots := make([]slot, len(prods))
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for _, p := range prods {
			if err := p.Run(0, perRing); err != nil {
				b.Fatal(err)
			}
		}
		clear(slots)
		var done atomic.Int64
		b.StartTimer()
		err := c.Consume(context.Background(), func(r transport.Record) error {
			s := &slots[r.Source]
			s.sum += int64(r.Sample[0])
			if s.n++; s.n == perRing && done.Add(1) == int64(len(prods)) {
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
