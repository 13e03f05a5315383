package event

import (
	"context"
	"fmt"
	"sync"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// DecodeErrorFunc decides what happens to a record that failed to decode. It
// runs on the consuming goroutine. Returning nil skips the record; returning
// an error stops consumption with that error.
type DecodeErrorFunc func(rec transport.Record, err error) error

// Handler returns a transport.Handler that decodes each record with dec and
// calls fn with the decoded value and the record.
//
// The *T passed to fn is reused for every record, like Record.Sample: it is
// valid only until fn returns (copy *v to keep it). The returned handler makes
// no allocation per record, and, like every handler, must not be shared by two
// Consume calls running at once.
//
// Decode errors are counted (dec.Errors) and not fatal by default: a record
// that does not decode is skipped when onErr is nil. Otherwise onErr decides:
// its non-nil error stops Consume (wrapped). An error from fn stops Consume.
func Handler[T any](dec *Decoder[T], fn func(v *T, rec transport.Record) error, onErr DecodeErrorFunc) transport.Handler {
	var v T
	return func(rec transport.Record) error {
		if err := dec.DecodeInto(&v, rec.Sample); err != nil {
			if onErr == nil {
				return nil
			}
			return onErr(rec, err)
		}
		return fn(&v, rec)
	}
}

// Item is one decoded record delivered by a Stream.
type Item[T any] struct {
	// Event is the decoded sample; it is the receiver's own copy.
	Event T
	// CPU is the CPU of the record (perfbuf), or transport.NoCPU.
	CPU int
	// Source is the index of the record's map (transport.Record.Source).
	Source int
}

// StreamOptions configure NewStream. The zero value is valid.
type StreamOptions struct {
	// Buffer is the capacity of the channel (0: unbuffered).
	Buffer int
	// OnDecodeError decides about records that fail to decode, as for
	// Handler: nil skips (and counts) them.
	OnDecodeError DecodeErrorFunc
}

// Stream delivers a consumer's records, decoded, on a channel. Create it with
// NewStream.
type Stream[T any] struct {
	// C receives the decoded records in arrival order. It is closed when
	// consumption ends; Err then says why.
	C <-chan Item[T]

	dec    *Decoder[T]
	cancel context.CancelFunc
	done   chan struct{} // closed once err is set, just before C
	exited chan struct{} // closed after C, when the goroutine ends
	err    error
	mu     sync.Mutex
	decErr uint64
}

// NewStream starts a goroutine that runs c.Consume(ctx) and sends each record,
// decoded with dec, on the stream's channel. A slow reader slows the consumer
// down; nothing is dropped in user space. The goroutine ends, and C is
// closed, when ctx is done, when c or the stream is closed, or when the
// consumer fails; it never blocks on a send after that.
//
// Only one Consume can run on a consumer at a time, so do not start two
// streams, or a stream and a Consume, on one consumer.
func NewStream[T any](ctx context.Context, c transport.Consumer, dec *Decoder[T], opts StreamOptions) *Stream[T] {
	ch := make(chan Item[T], max(opts.Buffer, 0))
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream[T]{C: ch, dec: dec, cancel: cancel, done: make(chan struct{}), exited: make(chan struct{})}
	h := Handler(dec, func(v *T, rec transport.Record) error {
		return core.Send(ctx, c.Done(), ch, Item[T]{Event: *v, CPU: rec.CPU, Source: rec.Source})
	}, func(rec transport.Record, err error) error {
		s.mu.Lock()
		s.decErr++
		s.mu.Unlock()
		if opts.OnDecodeError == nil {
			return nil
		}
		return opts.OnDecodeError(rec, err)
	})
	go func() {
		err := c.Consume(ctx, h)
		if err == nil { // consumers always return an error; be safe
			err = fmt.Errorf("event: stream: consume returned: %w", transport.ErrClosed)
		}
		s.err = err
		cancel()
		close(s.done) // before C, so that Err sees the error once C is closed
		close(ch)
		close(s.exited)
	}()
	return s
}

// Err returns the error that ended the stream: ctx's error, an error matching
// transport.ErrClosed, a decode error OnDecodeError chose to return, or the
// consumer's failure, each wrapped. It returns nil while the stream runs;
// call it after C is closed.
func (s *Stream[T]) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// DecodeErrors returns how many records this stream failed to decode.
func (s *Stream[T]) DecodeErrors() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decErr
}

// Close stops the stream (the consumer stays open) and waits until its
// goroutine has ended. Records already buffered in C can still be received.
// It is idempotent and returns nil.
func (s *Stream[T]) Close() error {
	s.cancel()
	<-s.exited
	return nil
}

// Done returns a channel closed once the stream's goroutine has ended and C
// is closed.
func (s *Stream[T]) Done() <-chan struct{} { return s.exited }
