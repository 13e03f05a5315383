package transporttest

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

// owned checks that records taken from a channel still hold the bytes they
// arrived with and returns them as delivered records.
func (e *env) owned(t *testing.T, got []received) []rec {
	t.Helper()
	recs := make([]rec, 0, len(got))
	changed := 0
	for i, g := range got {
		if !bytes.Equal(g.r.Sample, g.orig) {
			if changed++; changed <= 3 {
				t.Errorf("record %d from the channel changed after later records arrived: was %x, now %x", i, g.orig, g.r.Sample)
			}
			continue
		}
		r, err := e.rec(g.r)
		if err != nil {
			t.Error(err)
			continue
		}
		recs = append(recs, r)
	}
	if changed > 0 {
		t.Fatalf("%d records from the channel changed: their bytes are not owned copies", changed)
	}
	return recs
}

// releaseAll releases batches, last first: the buffer must still free them
// in order.
func releaseAll(held []*transport.Batch) {
	for i := len(held) - 1; i >= 0; i-- {
		held[i].Release()
	}
}

// Borrowed batches carry every record, in order; a batch's records stay
// valid until it is released, also while later batches arrive; batches
// released out of order free the buffer, so that the next buffer-full is
// delivered without loss.
func testBatchesBorrowed(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const size = 7
	s := transport.Batches(ctx, e.c, transport.ChannelOptions{BatchSize: size, Buffer: 1, Borrow: true})
	t.Cleanup(func() { <-s.Done() })
	var all []rec
	for round := range 3 {
		var got []received
		n := e.produce(t, e.batch(1000))
		held := receiveBatches(t, s.C, n, size, arrival, &got, true)
		all = append(all, e.owned(t, got)...)
		if round == 1 {
			// Odd batches first, then the others, last first.
			for i := 1; i < len(held); i += 2 {
				held[i].Release()
			}
		}
		releaseAll(held)
	}
	// Stats counts a drain's records as the drain ends, which may be after
	// the receiver has them: end the stream first.
	cancel()
	checkStreamEnd(t, s, context.Canceled)
	e.checkRecords(t, all, true)
	e.checkStats(t, all)
	// Released, the buffer is free again.
	deadline := time.Now().Add(arrival)
	for e.c.Stats().PendingBytes != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p := e.c.Stats().PendingBytes; p != 0 {
		t.Errorf("Stats.PendingBytes = %d after every batch was released, want 0", p)
	}
	cancel()
	checkStreamEnd(t, s, context.Canceled)
}

// Closing the consumer while batches are out leaves their records valid (a
// borrowed batch's buffer stays mapped until it is released) and every
// record accounted for: delivered in Stats.Records, the rest in Lost.
func testBatchesCloseWithBatchesOut(borrow bool) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		s := transport.Batches(context.Background(), e.c, transport.ChannelOptions{BatchSize: 5, Borrow: borrow})
		t.Cleanup(func() { <-s.Done() })
		var got []received
		n := e.produce(t, e.batch(50))
		held := receiveBatches(t, s.C, n, 5, arrival, &got, true)
		if err := e.c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkStreamEnd(t, s, transport.ErrClosed)
		runtime.GC()
		e.checkOwned(t, got, true) // reads the records after Close
		releaseAll(held)
		releaseAll(held) // idempotent, also after Close
		st := e.c.Stats()
		if st.Records != uint64(n) {
			t.Errorf("Stats.Records = %d after Close, %d received", st.Records, n)
		}
		if st.LostKnown && st.Records+st.Lost != uint64(e.produced) {
			t.Errorf("Stats.Records %d + Lost %d != %d produced", st.Records, st.Lost, e.produced)
		}
	}
}

// Cancelling a stream while batches are out leaves their records valid; a
// new stream on the consumer, started while they are still out, receives
// the records that follow.
func testBatchesCancelWithBatchesOut(borrow bool) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		opts := transport.ChannelOptions{BatchSize: 5, Borrow: borrow}
		ctx, cancel := context.WithCancel(context.Background())
		s := transport.Batches(ctx, e.c, opts)
		var got []received
		n := e.produce(t, e.batch(40)/2)
		held := receiveBatches(t, s.C, n, 5, arrival, &got, true)
		cancel()
		checkStreamEnd(t, s, context.Canceled)
		recs := e.owned(t, got)

		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		s2 := transport.Batches(ctx2, e.c, opts)
		t.Cleanup(func() { <-s2.Done() })
		var got2 []received
		m := e.produce(t, e.batch(40)/2)
		receiveBatches(t, s2.C, m, 5, arrival, &got2, false)
		e.owned(t, got) // still unchanged while the second stream ran
		releaseAll(held)
		cancel2()
		checkStreamEnd(t, s2, context.Canceled)
		recs = append(recs, e.owned(t, got2)...)
		e.checkRecords(t, recs, true)
		e.checkStats(t, recs)
	}
}

// ConsumeBatches hands every record over in order, in non-empty batches,
// with the same accounting and rules as Consume.
func testBatchHandler(t *testing.T, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), arrival)
	defer cancel()
	if err := e.c.ConsumeBatches(ctx, nil); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("ConsumeBatches(ctx, nil) = %v, want ErrInvalidOptions", err)
	}
	n := e.produce(t, e.batch(1000))
	var recs []rec
	err := e.c.ConsumeBatches(ctx, func(rs []transport.Record) error {
		if len(rs) == 0 {
			t.Error("empty batch")
		}
		for _, r := range rs {
			x, err := e.rec(r)
			if err != nil {
				t.Error(err)
			}
			recs = append(recs, x)
		}
		if len(recs) >= n {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("ConsumeBatches returned %v after %d of %d records, want the handler's error", err, len(recs), n)
	}
	e.checkRecords(t, recs, true)
	e.checkStats(t, recs)
}

// The batch handler path makes no allocation per record.
func testBatchHandlerZeroAllocs(t *testing.T, e *env) {
	checkNoAllocsPerRecord(t, e, "ConsumeBatches", func(ctx context.Context, n int) (int, error) {
		count := 0
		err := e.c.ConsumeBatches(ctx, func(rs []transport.Record) error {
			if count += len(rs); count >= n {
				return errEnough
			}
			return nil
		})
		return count, err
	})
}
