package ringbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestCorruptConsumerPosition: the consumer page is writable by any process
// that maps the ring. A consumer position ahead of the producer's, or
// misaligned, is refused with ErrCorrupt before anything is read at it.
func TestCorruptConsumerPosition(t *testing.T) {
	const n = 10
	record := uintptr(producer.HeaderSize + 8)
	for _, tc := range []struct {
		name string
		cons uintptr
	}{
		{"ahead-of-producer", n*record + 8},
		{"misaligned", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 10})
			require.NoError(t, p.Run(0, n))
			*consumerPos(t, p) = tc.cons
			c, err := ringbuf.New(p.Map(), ringbuf.Options{})
			require.NoError(t, err)
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := 0
			err = c.Consume(ctx, func(transport.Record) error { got++; return nil })
			require.ErrorIs(t, err, transport.ErrCorrupt)
			require.Zero(t, got)
		})
	}
}
