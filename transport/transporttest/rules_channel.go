package transporttest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

type received struct {
	r    transport.Record
	orig []byte
}

// checkOwned checks that records taken from a channel still hold the bytes
// they arrived with, then checks them as delivered records.
func (e *env) checkOwned(t *testing.T, got []received, complete bool) {
	t.Helper()
	e.checkRecords(t, e.owned(t, got), complete)
}

// receive takes n records from ch within arrival.
func receive(t *testing.T, ch <-chan transport.Record, n int, got *[]received) {
	t.Helper()
	deadline := time.NewTimer(arrival)
	defer deadline.Stop()
	for range n {
		select {
		case r, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d records", len(*got))
			}
			*got = append(*got, received{r, bytes.Clone(r.Sample)})
			if len(*got) <= 5 {
				// A slow reader at first: the consumer must wait
				// for it, not drop.
				time.Sleep(2 * time.Millisecond)
			}
		case <-deadline.C:
			t.Fatalf("received %d records from the channel within %v, want %d", len(*got), arrival, n)
		}
	}
}

// checkStreamEnd checks that a stream's channel is closed within promptly and
// that Err then reports want.
func checkStreamEnd[T any](t *testing.T, s *transport.Stream[T], want error) {
	t.Helper()
	timer := time.NewTimer(promptly)
	defer timer.Stop()
	for {
		select {
		case v, ok := <-s.C:
			if ok {
				if b, isBatch := any(v).(*transport.Batch); isBatch {
					b.Release()
				}
				continue // records that were in flight
			}
		case <-timer.C:
			t.Fatalf("stream channel not closed within %v", promptly)
		}
		break
	}
	if err := s.Err(); !errors.Is(err, want) {
		t.Errorf("stream Err() = %v, want %v wrapped", err, want)
	}
}

// The channel API hands over owned copies in order, does not drop for a slow
// reader, and closes its channel when the context ends, with the context's
// error in Err.
func testRecordsChannel(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := transport.Records(ctx, e.c, transport.ChannelOptions{Buffer: 1})
	t.Cleanup(func() { <-s.Done() })
	var got []received
	for range 3 {
		n := e.produce(t, e.batch(50))
		receive(t, s.C, n, &got)
	}
	e.checkOwned(t, got, true)
	if st := e.c.Stats(); st.Lost != 0 {
		t.Errorf("Stats.Lost = %d with a reader that keeps up", st.Lost)
	}
	cancel()
	checkStreamEnd(t, s, context.Canceled)
}

// Closing the consumer ends a channel stream, with ErrClosed in Err.
func testRecordsChannelClose(t *testing.T, e *env) {
	s := transport.Records(context.Background(), e.c, transport.ChannelOptions{})
	t.Cleanup(func() { <-s.Done() })
	var got []received
	n := e.produce(t, e.batch(5))
	receive(t, s.C, n, &got)
	if err := e.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkStreamEnd(t, s, transport.ErrClosed)
	e.checkOwned(t, got, true)
}

// receiveBatches takes batches from ch until they hold n records, within d.
// With hold, it returns the batches unreleased, their records in got still
// pointing into them; otherwise it copies each record's bytes on arrival and
// releases each batch at once (so that an owned stream recycles its memory).
func receiveBatches(t *testing.T, ch <-chan *transport.Batch, n, size int, d time.Duration, got *[]received, hold bool) []*transport.Batch {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	start := len(*got)
	var held []*transport.Batch
	for len(*got)-start < n {
		select {
		case b, ok := <-ch:
			if !ok {
				t.Fatalf("batch channel closed after %d records", len(*got))
			}
			if len(b.Records) == 0 || len(b.Records) > size {
				t.Errorf("batch of %d records, want 1 to %d", len(b.Records), size)
			}
			for _, r := range b.Records {
				orig := bytes.Clone(r.Sample)
				if !hold {
					r.Sample = bytes.Clone(orig)
				}
				*got = append(*got, received{r, orig})
			}
			if hold {
				held = append(held, b)
			} else {
				b.Release()
				b.Release() // idempotent
			}
		case <-deadline.C:
			t.Fatalf("received %d records in batches within %v, want %d", len(*got)-start, d, n)
		}
	}
	if len(*got)-start > n {
		t.Fatalf("received %d records in batches, %d produced", len(*got)-start, n)
	}
	return held
}

// A batch that is not full is sent once the buffer is drained, without
// waiting for more records: from the idle hook of a transport.ConsumerTo, or
// at the end of each batch handler call of a plain Consumer.
func testBatchesPartial(t *testing.T, e *env) {
	for _, borrow := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		s := transport.Batches(ctx, e.c, transport.ChannelOptions{BatchSize: 256, Borrow: borrow})
		var got []received
		for range 2 {
			time.Sleep(settle)
			n := e.produce(t, e.batch(10))
			receiveBatches(t, s.C, n, 256, time.Second, &got, false)
		}
		cancel()
		checkStreamEnd(t, s, context.Canceled)
		e.checkOwned(t, got, false)
	}
	// Both streams together received everything, in order.
	if s := e.c.Stats(); s.Records != uint64(e.produced) {
		t.Errorf("Stats.Records = %d, produced %d", s.Records, e.produced)
	}
}

// Batches of at most BatchSize records carry every record, in order; a
// batch's records stay valid, as later batches arrive, until it is released.
func testBatchesFull(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const size = 7
	s := transport.Batches(ctx, e.c, transport.ChannelOptions{BatchSize: size, Buffer: 1})
	t.Cleanup(func() { <-s.Done() })
	var got []received
	var held []*transport.Batch
	for range 3 {
		n := e.produce(t, e.batch(100))
		held = append(held, receiveBatches(t, s.C, n, size, arrival, &got, true)...)
	}
	e.checkOwned(t, got, true)
	releaseAll(held)
	if err := e.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkStreamEnd(t, s, transport.ErrClosed)
}
