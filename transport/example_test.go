package transport_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// newFake stands in for a real consumer in the runnable examples: a Fake
// holding three samples and, like a kernel buffer that overflowed, one lost.
func newFake() *transporttest.Fake {
	f := transporttest.NewFake(transporttest.FakeOptions{})
	for _, s := range []string{"one", "two", "three"} {
		_ = f.Emit([]byte(s))
	}
	_ = f.EmitLost(1)
	return f
}

// The callback path: fastest, no allocation per record. The sample is
// borrowed: copy what you keep.
func ExampleConsumer() {
	var c transport.Consumer = newFake() // perfbuf.New, ringbuf.New or bpfstream.Open in production
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	err := c.Consume(ctx, func(rec transport.Record) error {
		fmt.Printf("%s (cpu %d)\n", rec.Sample, rec.CPU)
		if n++; n == 3 {
			return errors.New("enough") // ends Consume, which returns it wrapped
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// one (cpu -1)
	// two (cpu -1)
	// three (cpu -1)
	// transporttest: fake: handler: enough
}

// The callback path written as a loop: the body runs as Consume's handler,
// so a record's sample is borrowed until the next iteration.
func ExampleAll() {
	c := newFake()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for rec, err := range transport.All(ctx, c) {
		if err != nil {
			fmt.Println(err) // what ended Consume
			break
		}
		fmt.Printf("%s\n", rec.Sample)
		if string(rec.Sample) == "three" {
			break // ends Consume; "three" counts as delivered
		}
	}
	fmt.Println(c.Stats().Records, "records,", c.Stats().Lost, "lost")
	// Output:
	// one
	// two
	// three
	// 3 records, 1 lost
}

// The batch handler: one call per batch of borrowed records, the fastest way
// to read.
func ExampleConsumer_consumeBatches() {
	c := newFake()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n := 0
	err := c.ConsumeBatches(ctx, func(recs []transport.Record) error {
		for _, rec := range recs {
			fmt.Printf("%s\n", rec.Sample)
		}
		if n += len(recs); n == 3 {
			return errors.New("enough")
		}
		return nil
	})
	fmt.Println(err)
	// Output:
	// one
	// two
	// three
	// transporttest: fake: handler: enough
}

// The channel path: records own their bytes. Receive until the channel is
// closed, then Err says why consumption ended.
func ExampleRecords() {
	c := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := transport.Records(ctx, c, transport.ChannelOptions{})
	for rec := range s.C {
		fmt.Printf("%s\n", rec.Sample)
		if string(rec.Sample) == "three" {
			c.Close() // or cancel(): the channel closes either way
		}
	}
	fmt.Println(errors.Is(s.Err(), transport.ErrClosed))
	// Output:
	// one
	// two
	// three
	// true
}

// Batches amortises the channel's cost: one send per batch, a partial batch
// as soon as the kernel buffer is drained. Release each batch when done: its
// memory is reused for the next ones (with Borrow, nothing is copied and
// Release gives the kernel buffer's space back).
func ExampleBatches() {
	c := newFake()
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := transport.Batches(ctx, c, transport.ChannelOptions{BatchSize: 256})
	for batch := range s.C {
		for _, rec := range batch.Records {
			fmt.Printf("%s ", rec.Sample)
		}
		fmt.Println(len(batch.Records), "records")
		batch.Release()
		cancel()
	}
	fmt.Println(errors.Is(s.Err(), context.Canceled))
	// Output:
	// one two three 3 records
	// true
}

// Typed records: decode each sample into a struct mirroring the C one,
// without allocating.
func ExampleConsumer_typed() {
	type sample struct {
		PID  uint32
		Comm [4]byte
	}
	c := transporttest.NewFake(transporttest.FakeOptions{})
	defer c.Close()
	for pid := uint32(1); pid <= 2; pid++ {
		b := binary.NativeEndian.AppendUint32(nil, pid)
		_ = c.Emit(append(b, "ls\x00\x00"...))
	}
	_ = c.Emit([]byte{1, 2}) // too short: counted as a decode error

	dec, err := event.NewDecoder[sample]()
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := event.Handler(dec, func(e *sample, rec transport.Record) error {
		fmt.Println(e.PID, string(e.Comm[:2]))
		return nil
	}, func(rec transport.Record, err error) error {
		cancel() // the last sample: stop
		return nil
	})
	_ = c.Consume(ctx, h)
	fmt.Println("decode errors:", dec.Stats(c).DecodeErrors)
	// Output:
	// 1 ls
	// 2 ls
	// decode errors: 1
}

// Loss accounting: every sample the producer emitted is in Records or in
// Lost. LostKnown is false for a ringbuf consumer without a drop counter:
// then its losses are invisible. Alert on Lost growing, and on LostKnown
// being false where you expect it true.
func ExampleStats() {
	c := newFake()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = c.Consume(ctx, func(transport.Record) error { return nil })

	s := c.Stats()
	total := s.Records + s.Lost
	fmt.Printf("delivered %d, lost %d (%.0f%%), loss count complete: %v\n",
		s.Records, s.Lost, 100*float64(s.Lost)/float64(total), s.LostKnown)
	// Output:
	// delivered 3, lost 1 (25%), loss count complete: true
}
