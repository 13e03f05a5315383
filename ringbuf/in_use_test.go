package ringbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestSecondConsumerRefused: while a consumer of a ring is open, a second
// consumer of the same ring in this process, with either backend, alone or
// in a multi-ring set, is refused with an error that matches
// transport.ErrInUse and names the map; the first delivers every record
// exactly once. A refused multi-ring set claims none of its rings, and
// once the first consumer is closed a new one opens.
func TestSecondConsumerRefused(t *testing.T) {
	backends := map[string]ringbuf.Backend{"native": ringbuf.BackendNative, "cilium": ringbuf.BackendCilium}
	for firstName, first := range backends {
		for secondName, second := range backends {
			t.Run(firstName+"_then_"+secondName, func(t *testing.T) {
				p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 1 << 20})
				other := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 1 << 20})
				c, err := ringbuf.New(p.Map(), ringbuf.Options{Backend: first})
				require.NoError(t, err)

				_, err = ringbuf.New(p.Map(), ringbuf.Options{Backend: second})
				streamtest.RequireInUse(t, err, p.Map())
				clone, err := p.Map().Clone()
				require.NoError(t, err)
				defer clone.Close()
				_, err = ringbuf.New(clone, ringbuf.Options{Backend: second})
				streamtest.RequireInUse(t, err, p.Map())
				if second == ringbuf.BackendNative {
					_, err = ringbuf.NewMulti([]*ebpf.Map{other.Map(), p.Map()}, ringbuf.Options{})
					streamtest.RequireInUse(t, err, p.Map())
					// The refused set left the other ring free.
					o, err := ringbuf.New(other.Map(), ringbuf.Options{})
					require.NoError(t, err)
					require.NoError(t, o.Close())
				}

				require.NoError(t, p.Run(0, 10_000))
				noDrops(t, p)
				want := streamtest.Attempted(t, p)
				consumeExactly(t, c, want)
				require.NoError(t, c.Close())

				next, err := ringbuf.New(p.Map(), ringbuf.Options{Backend: second})
				require.NoError(t, err, "a consumer opened after Close")
				require.NoError(t, p.Run(0, 1000))
				consumeExactly(t, next, streamtest.Attempted(t, p)-want)
				require.NoError(t, next.Close())
			})
		}
	}
}

// TestSecondConsumerRefusedWhileConsuming: a consumer whose Consume runs
// keeps the ring; a second one is refused at once (not made to wait for the
// first to close).
func TestSecondConsumerRefusedWhileConsuming(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 1 << 20})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{})
	require.NoError(t, err)
	consumed := make(chan error, 1)
	go func() {
		consumed <- c.Consume(context.Background(), func(transport.Record) error { return nil })
	}()
	start := time.Now()
	_, err = ringbuf.New(p.Map(), ringbuf.Options{})
	streamtest.RequireInUse(t, err, p.Map())
	require.Less(t, time.Since(start), 4*time.Second, "refused only after waiting")
	require.NoError(t, c.Close())
	require.ErrorIs(t, <-consumed, transport.ErrClosed)
}
