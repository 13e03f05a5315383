package transport_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// eachLendingCase runs f as a subtest, with leakcheck, for each reader that
// lends its buffer: the native ones (the cilium/ebpf readers copy).
func eachLendingCase(t *testing.T, f func(t *testing.T, hc hardCase)) {
	for _, hc := range hardCases() {
		if hc.name != "perfbuf/native" && hc.name != "ringbuf/native" {
			continue
		}
		t.Run(hc.name, func(t *testing.T) {
			leakcheck.Check(t)
			f(t, hc)
		})
	}
}

// borrowedStream loads a producer of samples of sample bytes into a buffer
// of size bytes (per CPU for perfbuf), opens hc's consumer on it and a
// stream of borrowed batches of 16 records; the test's cleanup ends the
// stream, releases what is left in it and closes the consumer.
func borrowedStream(t *testing.T, hc hardCase, sample, size int) (*producer.Producer, transport.Consumer, *transport.Stream[*transport.Batch]) {
	t.Helper()
	p := streamtest.Load(t, producer.Config{Kind: hc.kind, RingSize: size, SampleSize: sample})
	c, err := hc.open(p, size)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := transport.Batches(ctx, c, transport.ChannelOptions{BatchSize: 16, Borrow: true})
	t.Cleanup(func() {
		cancel()
		for b := range s.C {
			b.Release()
		}
		c.Close()
	})
	return p, c, s
}

// TestBorrowedBatchesHoldTheBuffer checks what ChannelOptions.Borrow
// documents, on the native reader of each transport: a receiver holding
// borrowed batches keeps their space from the producer, so the buffer fills
// and the producer's samples are lost (counted in Stats.Lost), and ringbuf's
// Stats.PendingBytes counts the held bytes; once the batches are released
// (out of order) the space is free again; and every sample is accounted
// for: received + lost == produced.
func TestBorrowedBatchesHoldTheBuffer(t *testing.T) {
	eachLendingCase(t, func(t *testing.T, hc hardCase) {
		const sample, size = 64, 16 << 10
		p, c, s := borrowedStream(t, hc, sample, size)
		var received uint64
		var held []*transport.Batch
		// take receives batches until n more records arrived.
		take := func(n uint64, hold bool) {
			t.Helper()
			deadline := time.After(10 * time.Second)
			for want := received + n; received < want; {
				select {
				case b := <-s.C:
					for _, r := range b.Records {
						if seqOf(t, r.Sample) >= streamtest.Attempted(t, p) {
							t.Fatal("record with a seq not produced yet")
						}
					}
					received += uint64(len(b.Records))
					if hold {
						held = append(held, b)
					} else {
						b.Release()
					}
				case <-deadline:
					t.Fatalf("received %d records, want %d (Stats %+v)", received, want, c.Stats())
				}
			}
		}

		// About two thirds of the buffer, held.
		if err := p.Run(0, 150); err != nil {
			t.Fatal(err)
		}
		take(150, true)
		if st := c.Stats(); hc.kind != producer.Perf && st.PendingBytes < 150*(sample+8) {
			t.Errorf("Stats.PendingBytes = %d with 150 records of %d bytes held", st.PendingBytes, sample+8)
		}
		// Twice the buffer: what does not fit in the third left
		// is lost.
		if err := p.Run(0, 400); err != nil {
			t.Fatal(err)
		}
		for i := len(held) - 1; i >= 0; i-- {
			held[i].Release()
		}
		held = nil
		// More, so that perfbuf reports its losses (with the next
		// write that fits).
		if err := p.Run(0, 50); err != nil {
			t.Fatal(err)
		}
		attempted := streamtest.Attempted(t, p)
		var st transport.Stats
		deadline := time.Now().Add(10 * time.Second)
		for {
			st = c.Stats()
			if st.Records+st.Lost == attempted && received == st.Records {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Stats %+v, received %d, attempted %d: want received == Records and Records + Lost == attempted", st, received, attempted)
			}
			select {
			case b := <-s.C:
				received += uint64(len(b.Records))
				b.Release()
			case <-time.After(10 * time.Millisecond):
			}
		}
		if st.Lost == 0 {
			t.Errorf("no sample lost while held batches filled the buffer (Stats %+v)", st)
		}
		if st.Lost > 400 {
			t.Errorf("Stats.Lost = %d: more than the 400 produced while batches were held", st.Lost)
		}
		t.Logf("attempted %d: received %d, lost %d", attempted, received, st.Lost)
	})
}

// TestBorrowedBatchDroppedIsCollected checks the safety net ChannelOptions.
// Borrow documents: a borrowed batch that becomes unreachable unreleased gives
// its space back to the kernel buffer once the garbage collector finds it, so
// the producer can use the whole buffer again.
func TestBorrowedBatchDroppedIsCollected(t *testing.T) {
	eachLendingCase(t, func(t *testing.T, hc hardCase) {
		const sample, size, n = 64, 16 << 10, 150 // n records fill about two thirds of the buffer
		p, c, s := borrowedStream(t, hc, sample, size)
		receive := func(want uint64, keep func(*transport.Batch)) {
			t.Helper()
			deadline := time.After(10 * time.Second)
			for got := uint64(0); got < want; {
				select {
				case b := <-s.C:
					got += uint64(len(b.Records))
					keep(b)
				case <-deadline:
					t.Fatalf("received %d records, want %d (Stats %+v)", got, want, c.Stats())
				}
			}
		}

		if err := p.Run(0, n); err != nil {
			t.Fatal(err)
		}
		held := 0
		receive(n, func(*transport.Batch) { held++ }) // dropped, never released
		if st := c.Stats(); hc.kind != producer.Perf && st.PendingBytes < n*(sample+8) {
			t.Fatalf("Stats.PendingBytes = %d with %d records of %d bytes held", st.PendingBytes, n, sample+8)
		}
		// The dropped batches' space comes back once the collector
		// has run their finalizers; for ringbuf, PendingBytes shows it.
		deadline := time.Now().Add(10 * time.Second)
		for hc.kind != producer.Perf && c.Stats().PendingBytes != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%d dropped batches still hold the ring: Stats %+v", held, c.Stats())
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
		if hc.kind == producer.Perf {
			for i := 0; i < 5; i++ {
				runtime.GC()
				time.Sleep(20 * time.Millisecond)
			}
		}
		// As much again: it fits only in space the dropped batches
		// gave back.
		if err := p.Run(0, n); err != nil {
			t.Fatal(err)
		}
		receive(n, (*transport.Batch).Release)
		// Counts are published as a drain ends (Stats.Records).
		for st := c.Stats(); st.Lost != 0 || st.Records != 2*n; st = c.Stats() {
			if st.Lost != 0 || time.Now().After(deadline.Add(5*time.Second)) {
				t.Fatalf("Stats %+v after %d dropped and %d released records: want Records %d, Lost 0", st, n, n, 2*n)
			}
			time.Sleep(time.Millisecond)
		}
	})
}
