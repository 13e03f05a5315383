package transport

import (
	"context"

	"github.com/bpfstream/bpfstream/internal/core"
)

// ChannelOptions configure Records and Batches. The zero value is valid.
type ChannelOptions struct {
	// Buffer is the channel's capacity: records for Records, batches for
	// Batches. Zero means 1024 records or 16 batches.
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

func (o ChannelOptions) withDefaults(buffer int) ChannelOptions {
	if o.Buffer <= 0 {
		o.Buffer = buffer
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 256 << 10
	}
	return o
}

// Stream is a channel of records read by a background goroutine. Receive
// from C until it is closed, then call Err.
type Stream[T any] struct {
	// C receives records (Records) or batches of records (Batches) whose
	// bytes the receiver owns. It is closed when consumption ends.
	C <-chan T

	done chan struct{}
	err  error
}

// Err returns the error that ended consumption, as Consume returned it:
// errors.Is(err, context.Canceled) (or DeadlineExceeded) when ctx ended,
// errors.Is(err, ErrClosed) when the consumer was closed. It blocks until the
// background goroutine has finished, so call it after C is closed.
func (s *Stream[T]) Err() error {
	<-s.done
	return s.err
}

// Wait blocks until the background goroutine has exited.
func (s *Stream[T]) Wait() { <-s.done }

// Records consumes c on a new goroutine and sends each record, with an owned
// copy of its bytes, on the returned stream's channel. Consumption ends when
// ctx is done, c is closed, or Consume fails; the channel is then closed. A
// receiver that falls behind blocks the consumer (the kernel buffer then
// fills and counts its losses); records are never dropped in user space
// while consumption runs. When it ends (ctx done, Close) with the channel
// full, the one record being sent is dropped: Stats.Records counts it, the
// receiver never sees it. Records already in the channel stay there: receive
// until C is closed to get them.
func Records(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[Record] {
	opts = opts.withDefaults(1024)
	ch := make(chan Record, opts.Buffer)
	s := &Stream[Record]{C: ch, done: make(chan struct{})}
	a := core.Arena{Chunk: opts.ChunkBytes}
	done := c.Done()
	go func() {
		defer close(s.done)
		defer close(ch)
		s.err = c.Consume(ctx, func(r Record) error {
			r.Sample = a.Copy(r.Sample)
			return core.Send(ctx, done, ch, r)
		})
	}()
	return s
}

// Batches is like Records but sends slices of up to opts.BatchSize records,
// amortising the channel's cost over many records. Batches are sent when full
// or when the kernel buffer has been drained. The receiver owns each batch.
// As with Records, when consumption ends with the channel full, the batch
// being gathered (at most BatchSize records, counted in Stats.Records) is
// dropped.
func Batches(ctx context.Context, c Consumer, opts ChannelOptions) *Stream[[]Record] {
	opts = opts.withDefaults(16)
	ch := make(chan []Record, opts.Buffer)
	s := &Stream[[]Record]{C: ch, done: make(chan struct{})}
	b := batcher{
		ch:    ch,
		done:  c.Done(),
		size:  opts.BatchSize,
		arena: core.Arena{Chunk: opts.ChunkBytes},
		slab:  core.RecordSlab{Chunk: 16 * opts.BatchSize},
	}
	go func() {
		defer close(s.done)
		defer close(ch)
		// The idle hook runs on the consuming goroutine, between
		// handler calls, so the batcher needs no lock.
		b.ctx = core.WithIdleFunc(ctx, b.flush)
		s.err = c.Consume(b.ctx, b.add)
		// Hand over what was gathered before the end, unless the
		// receiver is gone.
		_ = b.flush()
	}()
	return s
}

// batcher gathers records into batches for Batches.
type batcher struct {
	ctx     context.Context
	ch      chan<- []Record
	done    <-chan struct{}
	size    int
	cur     []Record
	arena   core.Arena
	slab    core.RecordSlab
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

// flush sends the current batch, blocking until the receiver takes it or
// consumption is stopped.
func (b *batcher) flush() error {
	if len(b.cur) == 0 || b.sendErr != nil {
		return b.sendErr
	}
	if b.sendErr = core.Send(b.ctx, b.done, b.ch, b.cur); b.sendErr == nil {
		b.cur = nil
	}
	return b.sendErr
}
