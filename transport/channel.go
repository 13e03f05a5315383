package transport

import (
	"context"
	"fmt"

	"github.com/bpfstream/bpfstream/internal/arena"
)

// ChannelOptions configure a [Stream] (Records, [Batches], [NewStream] and
// event.NewStream). The zero value is valid. A negative or too large value
// is an error (see [Stream]): the stream ends at once, before allocating
// anything, and its Err matches [ErrInvalidOptions].
type ChannelOptions struct {
	// Buffer is how many records may wait in the stream's channel; for
	// [Batches] it is rounded up to whole batches. Zero means [DefaultBuffer],
	// and for borrowed batches (Borrow) [BorrowedBatches] batches. At most
	// 1<<22.
	Buffer int
	// BatchSize caps the records in one batch ([Batches] only). Zero means
	// 1024; at most 1<<16. Handing a batch to a receiver that waits for it costs a
	// goroutine wake-up, which a smaller batch pays more often (see
	// BENCHMARKS.md, "Choices in the code"). A batch is sent when it is
	// full or when the consumer has handed over everything that was
	// waiting in its buffer ([ConsumerTo]; a plain [Consumer]'s batches
	// are sent at the end of each of its handler calls), so a partial
	// batch never waits for the next record.
	BatchSize int
	// ChunkBytes is the size of the memory chunks that records' bytes are
	// copied into: for Records, chunks that records share (a record kept
	// alive keeps its chunk alive; smaller chunks retain less memory and
	// allocate more often); for [Batches], each batch's memory (a batch is
	// sent early when its memory is full). Zero means 256 KiB; at most
	// 1 GiB.
	ChunkBytes int
	// Borrow makes [Batches] send borrowed batches: their records point
	// into the kernel buffer, as on the callback path, and nothing is
	// copied (consumers that lend their records, see [ConsumerTo]:
	// perfbuf's and ringbuf's native readers; records of other consumers,
	// and records that wrap around the end of a perf buffer, are copied
	// into memory the batch owns). The kernel may not reuse a borrowed batch's space until
	// the batch and every older batch of the same buffer are released, so
	// a receiver that holds batches makes the buffer fill: producers then
	// drop samples (counted in [Stats.Lost]), and [Stats.PendingBytes] counts
	// the bytes held. Release batches promptly, in any order. Ring buffer
	// producers that choose wake-ups from the unread bytes
	// (bpf_ringbuf_query(BPF_RB_AVAIL_DATA)) count held bytes as unread,
	// and past their threshold wake the reader for every sample: use the
	// callback path or owned batches with them.
	//
	// Closing the consumer or ending the stream while borrowed batches are
	// out is safe: their records stay valid and mapped until released
	// (the buffer's memory is unmapped after Close only once the last one
	// is released), and they count as delivered in [Stats.Records]. A ring
	// buffer consumer opened on the same ring waits for them, up to 5 s,
	// as for any closed consumer still handing records over. A borrowed
	// batch that becomes unreachable unreleased is released when the
	// garbage collector finds it, but do not rely on that: until then it
	// holds the buffer back.
	Borrow bool
}

// BorrowedBatches is how many borrowed batches may wait in a stream's
// channel by default. A borrowed batch waiting costs no copy and no memory but
// its Records (the ring space it holds is bounded by the ring itself), while a
// reader that finds the channel full stops until the receiver has been woken
// and has taken a batch: with a deeper channel it keeps reading while the
// receiver wakes up.
const BorrowedBatches = 16

// Bounds of ChannelOptions: a channel, a batch and a chunk are allocated
// whole, so a mistyped value must be refused before it is allocated.
const (
	maxBuffer     = 1 << 22 // records; 128 MiB of channel
	maxBatchSize  = 1 << 16
	maxChunkBytes = 1 << 30
)

// check validates o and fills in defaults. Its errors match
// ErrInvalidOptions and name the field, its value and the allowed range.
func (o ChannelOptions) check() (ChannelOptions, error) {
	for _, f := range []struct {
		name       string
		value, max int
	}{
		{"Buffer", o.Buffer, maxBuffer},
		{"BatchSize", o.BatchSize, maxBatchSize},
		{"ChunkBytes", o.ChunkBytes, maxChunkBytes},
	} {
		if f.value < 0 || f.value > f.max {
			return o, fmt.Errorf("transport: stream: ChannelOptions.%s is %d, want 0 (the default) to %d: %w", f.name, f.value, f.max, ErrInvalidOptions)
		}
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1024
	}
	if o.Buffer == 0 {
		o.Buffer = DefaultBuffer
		if o.Borrow {
			o.Buffer = BorrowedBatches * o.BatchSize
		}
	}
	if o.ChunkBytes == 0 {
		o.ChunkBytes = 256 << 10
	}
	return o, nil
}

// Records streams c's records, one per send, each with an owned copy of its
// bytes. See [Stream] for how it ends and what it guarantees.
func Records(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[Record] {
	opts, err := checkStream(ctx, c, opts)
	if err != nil {
		return failed[Record](err)
	}
	a := arena.Bytes{Chunk: opts.ChunkBytes}
	return NewStream(ctx, c, opts, func(send func(Record) error) Handler {
		return func(r Record) error {
			r.Sample = a.Copy(r.Sample)
			return send(r)
		}
	})
}

// Batches streams c's records in batches of up to opts.BatchSize records,
// amortising the channel's cost over many records. A batch is sent when full
// or when the consumer's buffer has been drained, so a partial batch never
// waits for the next record: a [ConsumerTo] tells Batches when it goes idle,
// and a plain [Consumer]'s batches are sent at the end of each of its handler
// calls. Call [Batch.Release] on every batch received once done with it: that
// recycles its memory (owned batches, the default) or gives its space back
// to the kernel buffer (borrowed batches, opts.Borrow). See [Stream] for how
// it ends and what it guarantees (the value dropped at the end is the batch
// being gathered, at most BatchSize records, or with a plain [Consumer] the
// rest of the handler call being sent; the stream releases it).
func Batches(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[*Batch] {
	opts, err := checkStream(ctx, c, opts)
	if err != nil {
		return failed[*Batch](err)
	}
	buffer := (opts.Buffer + opts.BatchSize - 1) / opts.BatchSize
	return start(ctx, c, buffer, func(ctx context.Context, send func(*Batch) error) error {
		b := batcher{
			send:   send,
			size:   opts.BatchSize,
			chunk:  opts.ChunkBytes,
			room:   opts.BatchSize,
			borrow: opts.Borrow,
			// Enough for every batch the channel holds, the one
			// being received and the one being gathered.
			free: make(chan *batchMem, buffer+2),
		}
		var err error
		if ct, ok := c.(ConsumerTo); ok {
			err = ct.ConsumeTo(ctx, b.receiver())
		} else {
			err = c.ConsumeBatches(ctx, b.addAndFlush)
		}
		// Hand over what was gathered before the end, unless the receiver
		// is gone.
		_ = b.flush()
		return err
	})
}
