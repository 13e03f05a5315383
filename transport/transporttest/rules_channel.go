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
	e.checkRecords(t, recs, complete)
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
		case _, ok := <-s.C:
			if ok {
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
func receiveBatches(t *testing.T, ch <-chan []transport.Record, n, size int, d time.Duration, got *[]received) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	start := len(*got)
	for len(*got)-start < n {
		select {
		case b, ok := <-ch:
			if !ok {
				t.Fatalf("batch channel closed after %d records", len(*got))
			}
			if len(b) == 0 || len(b) > size {
				t.Errorf("batch of %d records, want 1 to %d", len(b), size)
			}
			for _, r := range b {
				*got = append(*got, received{r, bytes.Clone(r.Sample)})
			}
		case <-deadline.C:
			t.Fatalf("received %d records in batches within %v, want %d", len(*got)-start, d, n)
		}
	}
	if len(*got)-start > n {
		t.Fatalf("received %d records in batches, %d produced", len(*got)-start, n)
	}
}

// A batch that is not full is sent once the buffer is drained, without
// waiting for more records.
func testBatchesPartial(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := transport.Batches(ctx, e.c, transport.ChannelOptions{BatchSize: 256})
	t.Cleanup(func() { <-s.Done() })
	var got []received
	for range 2 {
		time.Sleep(settle)
		n := e.produce(t, e.batch(10))
		receiveBatches(t, s.C, n, 256, time.Second, &got)
	}
	e.checkOwned(t, got, true)
	cancel()
	checkStreamEnd(t, s, context.Canceled)
}

// Batches of at most BatchSize records carry every record, in order, with
// owned bytes.
func testBatchesFull(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const size = 7
	s := transport.Batches(ctx, e.c, transport.ChannelOptions{BatchSize: size, Buffer: 1})
	t.Cleanup(func() { <-s.Done() })
	var got []received
	for range 3 {
		n := e.produce(t, e.batch(100))
		receiveBatches(t, s.C, n, size, arrival, &got)
	}
	e.checkOwned(t, got, true)
	if err := e.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checkStreamEnd(t, s, transport.ErrClosed)
}
