package transport

import (
	"context"

	"github.com/bpfstream/bpfstream/internal/arena"
	"github.com/bpfstream/bpfstream/internal/idle"
)

// ChannelOptions configure a Stream (Records, Batches, NewStream and
// event.NewStream). The zero value is valid.
type ChannelOptions struct {
	// Buffer is how many records may wait in the stream's channel; for
	// Batches it is rounded up to whole batches. Zero means DefaultBuffer.
	Buffer int
	// BatchSize caps the records in one batch (Batches only). Zero means
	// 256. A batch is sent when it is full or when the consumer has handed
	// over everything that was waiting in the kernel buffer, so a partial
	// batch never waits for the next record.
	BatchSize int
	// ChunkBytes is the size of the memory chunks that records' bytes are
	// copied into. Zero means 256 KiB. Records share chunks: a record kept
	// alive keeps its chunk alive. Smaller chunks retain less memory and
	// allocate more often.
	ChunkBytes int
}

func (o ChannelOptions) withDefaults() ChannelOptions {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 256 << 10
	}
	return o
}

// Records streams c's records, one per send, each with an owned copy of its
// bytes. See Stream for how it ends and what it guarantees.
func Records(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[Record] {
	opts = opts.withDefaults()
	a := arena.Bytes{Chunk: opts.ChunkBytes}
	return NewStream(ctx, c, opts, func(send func(Record) error) Handler {
		return func(r Record) error {
			r.Sample = a.Copy(r.Sample)
			return send(r)
		}
	})
}

// Batches streams c's records in slices of up to opts.BatchSize records,
// amortising the channel's cost over many records. A batch is sent when full
// or when the kernel buffer has been drained, so a partial batch never waits
// for the next record. The receiver owns each batch and its bytes. See Stream
// for how it ends and what it guarantees (the value dropped at the end is the
// batch being gathered, at most BatchSize records).
func Batches(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[[]Record] {
	opts = opts.withDefaults()
	buffer := (opts.Buffer + opts.BatchSize - 1) / opts.BatchSize
	return start(ctx, c, buffer, func(ctx context.Context, send func([]Record) error) error {
		b := batcher{
			send:  send,
			size:  opts.BatchSize,
			arena: arena.Bytes{Chunk: opts.ChunkBytes},
			slab:  arena.Slab[Record]{Chunk: 16 * opts.BatchSize},
		}
		// The idle hook runs on the consuming goroutine, between handler
		// calls, so the batcher needs no lock.
		err := c.Consume(idle.With(ctx, b.flush), b.add)
		// Hand over what was gathered before the end, unless the receiver
		// is gone.
		_ = b.flush()
		return err
	})
}

// batcher gathers records into batches for Batches.
type batcher struct {
	send    func([]Record) error
	size    int
	cur     []Record
	arena   arena.Bytes
	slab    arena.Slab[Record]
	sendErr error
}

func (b *batcher) add(r Record) error {
	if b.cur == nil {
		b.cur = b.slab.Take(b.size)
	}
	r.Sample = b.arena.Copy(r.Sample)
	b.cur = append(b.cur, r)
	if len(b.cur) >= b.size {
		return b.flush()
	}
	return nil
}

// flush sends the current batch, blocking until the receiver takes it or the
// stream ends.
func (b *batcher) flush() error {
	if len(b.cur) == 0 || b.sendErr != nil {
		return b.sendErr
	}
	if b.sendErr = b.send(b.cur); b.sendErr == nil {
		b.cur = nil
	}
	return b.sendErr
}
