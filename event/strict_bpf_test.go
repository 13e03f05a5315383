package event_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// TestStrictRealPadding: samples the kernel delivers through each transport
// decode with a strict decoder of their own size, and fail with one of a size
// 8 bytes smaller, for sizes whose perfbuf padding differs.
func TestStrictRealPadding(t *testing.T) {
	for _, kind := range []producer.Kind{producer.Perf, producer.RingbufOutput} {
		for _, size := range []int{24, 28, 32} {
			t.Run(fmt.Sprintf("%v/%d", kind, size), func(t *testing.T) {
				p := streamtest.Load(t, producer.Config{Kind: kind, SampleSize: size})
				c, err := bpfstream.Open(p.Map(), bpfstream.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				const n = 100
				if err := p.Run(0, n); err != nil {
					t.Fatal(err)
				}
				exact, smaller := decoders(t, size, c.Kind())
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				var got int
				err = c.Consume(ctx, func(r transport.Record) error {
					exact(r.Sample)
					smaller(r.Sample)
					if got++; got == n {
						return streamtest.ErrDone
					}
					return nil
				})
				if got != n {
					t.Fatalf("consumed %d of %d: %v", got, n, err)
				}
			})
		}
	}
}

// decoders returns checks that a strict decoder of size bytes decodes a
// sample and one of size-8 bytes refuses it.
func decoders(t *testing.T, size int, k transport.Kind) (exact, smaller func([]byte)) {
	switch size {
	case 24:
		return check[[24]byte](t, k, true), check[[16]byte](t, k, false)
	case 28:
		return check[[28]byte](t, k, true), check[[20]byte](t, k, false)
	default:
		return check[[32]byte](t, k, true), check[[24]byte](t, k, false)
	}
}

func check[T any](t *testing.T, k transport.Kind, ok bool) func([]byte) {
	d, err := event.NewDecoder[T](event.Strict(k))
	if err != nil {
		t.Fatal(err)
	}
	return func(b []byte) {
		if _, err := d.Decode(b); (err == nil) != ok {
			t.Fatalf("%s: strict decoder of %d bytes, sample of %d: %v", k, d.Size(), len(b), err)
		}
	}
}
