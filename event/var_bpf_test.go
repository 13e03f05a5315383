package event_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// sampleHdr mirrors the test producer's struct sample_hdr; Size is the whole
// sample's size, header included.
type sampleHdr struct {
	Seq     uint64
	KtimeNs uint64
	CPU     uint32
	Size    uint32
}

// TestVarDecodeRealSamples: the kernel emits samples of sizes varying with
// their sequence number, each saying its size in its header, through both
// transports; the var decoder hands out every tail with the right length and
// content, with a strict decoder too (perfbuf's padding is exactly what the
// transport adds), and a remaining-bytes tail includes perfbuf's padding.
func TestVarDecodeRealSamples(t *testing.T) {
	const lo, hi, n = producer.HeaderSize, producer.HeaderSize + 45, 460 // every size 10 times
	for _, kind := range []producer.Kind{producer.Perf, producer.RingbufOutput} {
		t.Run(kind.String(), func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: kind, SampleSize: lo, MaxSampleSize: hi})
			c, err := bpfstream.Open(p.Map(), bpfstream.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := p.Run(0, n); err != nil {
				t.Fatal(err)
			}

			dec := mustVar[sampleHdr](t, event.SizeTail("Size"), event.Strict(c.Kind()))
			rest := mustVar[sampleHdr](t, event.RemainingTail())
			seen := make(map[uint64]bool)
			sizes := make(map[int]int)
			handler := event.VarHandler(dec, func(h *sampleHdr, tail []byte, rec transport.Record) error {
				if seen[h.Seq] {
					t.Fatalf("seq %d twice", h.Seq)
				}
				seen[h.Seq] = true
				want := lo + int(h.Seq%(hi-lo+1))
				if int(h.Size) != want || len(tail) != want-lo {
					t.Fatalf("seq %d: size %d, tail %d bytes; want %d, %d", h.Seq, h.Size, len(tail), want, want-lo)
				}
				for i, b := range tail {
					if b != producer.PayloadByte(h.Seq, i) {
						t.Fatalf("seq %d: tail byte %d is %#x, want %#x", h.Seq, i, b, producer.PayloadByte(h.Seq, i))
					}
				}
				sizes[len(tail)]++
				_, all, err := rest.Decode(rec.Sample)
				if err != nil {
					t.Fatal(err)
				}
				wantPad := 0 // perf pads a sample to end 4 bytes before a multiple of 8
				if kind == producer.Perf {
					wantPad = (want+4+7)&^7 - 4 - want
				}
				if len(all)-len(tail) != wantPad {
					t.Fatalf("seq %d: remaining tail of %d bytes for a tail of %d, want %d of padding", h.Seq, len(all), len(tail), wantPad)
				}
				if len(seen) == n {
					return streamtest.ErrDone
				}
				return nil
			}, func(_ transport.Record, err error) error { return err })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Consume(ctx, handler); !errors.Is(err, streamtest.ErrDone) {
				t.Fatalf("consumed %d of %d: %v", len(seen), n, err)
			}
			if len(sizes) != hi-lo+1 || dec.Errors() != 0 {
				t.Fatalf("%d distinct tail lengths (want %d), %d decode errors", len(sizes), hi-lo+1, dec.Errors())
			}
			if s := c.Stats(); s.Records != n || s.Lost != 0 {
				t.Fatalf("stats %+v, want %d records, none lost", s, n)
			}
		})
	}
}
