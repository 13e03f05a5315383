package transport_test

import (
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

// BenchmarkChannelFloor is what a Go channel costs by itself, with nothing
// read and nothing copied: one goroutine sends, another receives, as in
// Records (one record per send) and Batches (one batch of 1024 per send).
// It is the floor under those streams: compare it with the cost per record
// of a hand-written reader (examples/bench's raw path) to see what a
// channel can reach at all.
func BenchmarkChannelFloor(b *testing.B) {
	sample := make([]byte, 24)
	b.Run("record", func(b *testing.B) {
		c := make(chan transport.Record, transport.DefaultBuffer)
		go func() {
			for i := 0; i < b.N; i++ {
				c <- transport.Record{Sample: sample, CPU: transport.NoCPU}
			}
			close(c)
		}()
		n := 0
		for r := range c {
			n += len(r.Sample)
		}
		if n != b.N*len(sample) {
			b.Fatalf("received %d bytes, want %d", n, b.N*len(sample))
		}
	})
	b.Run("batch", func(b *testing.B) {
		const size = 1024
		batch := make([]transport.Record, size)
		for i := range batch {
			batch[i] = transport.Record{Sample: sample, CPU: transport.NoCPU}
		}
		c := make(chan []transport.Record, transport.DefaultBuffer/size)
		go func() {
			for i := 0; i < b.N; i += size {
				c <- batch[:min(size, b.N-i)]
			}
			close(c)
		}()
		n := 0
		for recs := range c {
			for i := range recs {
				n += len(recs[i].Sample)
			}
		}
		if n != b.N*len(sample) {
			b.Fatalf("received %d bytes, want %d", n, b.N*len(sample))
		}
	})
}
