package transport

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// DefaultBuffer is how many records may wait in a stream's channel when
// [ChannelOptions.Buffer] is zero (for borrowed batches, see [BorrowedBatches]).
const DefaultBuffer = 4096

// errStreamClosed is the cancellation cause of a stream stopped by Close.
var errStreamClosed = errors.New("stream closed")

// Stream is a channel of values that a background goroutine reads from a
// [Consumer]: records (Records), batches of records ([Batches]), or decoded
// events (event.NewStream, or [NewStream] with your own conversion). Every
// stream has the same semantics:
//
//   - Values own their bytes: unlike the callback path, nothing is borrowed
//     (except by borrowed batches, see ChannelOptions.Borrow; a Batch's
//     records are valid until Batch.Release).
//   - C is buffered (ChannelOptions.Buffer, DefaultBuffer records by
//     default, BorrowedBatches batches for borrowed batches). A receiver
//     that falls behind blocks the consumer; the kernel buffer then fills
//     and its losses are counted in Stats.Lost. Nothing is dropped in user
//     space while the stream runs.
//   - The stream ends when its context is done, when Close is called on the
//     stream or on the consumer, or when consumption fails. A stream given
//     a nil context or consumer or invalid ChannelOptions has ended before
//     it starts: C is closed and Err matches ErrInvalidOptions, naming what
//     is wrong. C is then closed
//     after the values already in it; receive until it is closed, then call
//     Err, like bufio.Scanner.Err.
//   - When the stream ends while C is full, the one value being sent (a
//     record, a batch or an event) is dropped: Stats.Records counts its
//     records, the receiver never sees them.
//
// Only one Consume runs on a consumer at a time, so do not start two streams,
// or a stream and a Consume, on one consumer.
type Stream[T any] struct {
	// C receives the stream's values in arrival order. It is closed when the
	// stream ends.
	C <-chan T

	cancel    context.CancelCauseFunc
	done      chan struct{}
	err       error
	closeOnce sync.Once
}

// Err returns the error that ended the stream, as Consume returned it:
// errors.Is(err, context.Canceled) (or DeadlineExceeded) when the context
// ended or Close was called on the stream, errors.Is(err, [ErrClosed]) when the
// consumer was closed, or the handler's or reader's error, wrapped. It blocks
// until the stream has ended, so call it after C is closed.
func (s *Stream[T]) Err() error {
	<-s.done
	return s.err
}

// Close stops the stream and waits until its goroutine has ended; the
// consumer stays open (another stream or Consume may follow). Values already
// in C can still be received until it is closed. Close is idempotent, safe
// from any goroutine, and returns nil.
func (s *Stream[T]) Close() error {
	s.closeOnce.Do(func() { s.cancel(errStreamClosed) })
	<-s.done
	return nil
}

// Done returns a channel closed once the stream's goroutine has ended and C
// is closed.
func (s *Stream[T]) Done() <-chan struct{} { return s.done }

// NewStream starts a stream of values of any type: build receives the
// stream's send function and returns the handler that Consume runs, which
// converts each record into zero or more values and sends them (an error
// from send, once the stream ends, must be returned by the handler). The
// values must not hold the record's borrowed bytes. event.NewStream is
// built on it.
func NewStream[T any](ctx context.Context, c Consumer, opts ChannelOptions, build func(send func(T) error) Handler) *Stream[T] {
	opts, err := checkStream(ctx, c, opts)
	if err != nil {
		return failed[T](err)
	}
	return start(ctx, c, opts.Buffer, func(ctx context.Context, send func(T) error) error {
		ct, ok := c.(ConsumerTo)
		if !ok {
			return c.Consume(ctx, build(send))
		}
		sent := false
		h := build(func(v T) error {
			err := send(v)
			sent = sent || err == nil
			return err
		})
		return ct.ConsumeTo(ctx, Receiver{Record: h, Idle: func() error {
			if sent {
				sent = false
				yieldToReceiver()
			}
			return nil
		}})
	})
}

// yieldToReceiver is called by a stream's consuming goroutine when it has
// sent values and the consumer is about to wait for more. With GOMAXPROCS 1
// it lets the receiver run first: the consumer is about to block in a system
// call holding the only P, which the runtime hands over only when its
// monitor notices, up to 10 ms later, and the values would wait that long.
// With more Ps the runtime wakes the receiver on an idle one when the send
// readies it, and a yield would only cost: on a consumer locked to its
// thread, two thread switches per wait (BENCHMARKS.md, "Yielding before a
// wait").
func yieldToReceiver() {
	if runtime.GOMAXPROCS(0) == 1 {
		runtime.Gosched()
	}
}

// start runs consume on a new goroutine with a send function for a channel of
// capacity buffer, and returns the stream.
func start[T any](ctx context.Context, c Consumer, buffer int, consume func(ctx context.Context, send func(T) error) error) *Stream[T] {
	ch := make(chan T, buffer)
	ctx, cancel := context.WithCancelCause(ctx)
	s := &Stream[T]{C: ch, cancel: cancel, done: make(chan struct{})}
	closed := c.Done()
	send := func(v T) error { return sendValue(ctx, closed, ch, v) }
	go func() {
		defer close(s.done)
		defer close(ch)
		defer cancel(nil)
		s.err = consume(ctx, send)
	}()
	return s
}

// checkStream validates the arguments of a stream and fills in opts'
// defaults.
func checkStream(ctx context.Context, c Consumer, opts ChannelOptions) (ChannelOptions, error) {
	if ctx == nil {
		return opts, fmt.Errorf("transport: stream: the context is nil; pass context.Background() or your own: %w", ErrInvalidOptions)
	}
	if c == nil {
		return opts, fmt.Errorf("transport: stream: the consumer is nil: %w", ErrInvalidOptions)
	}
	return opts.check()
}

// failed returns a stream that has already ended with err: C is closed, and
// Err returns err.
func failed[T any](err error) *Stream[T] {
	ch := make(chan T)
	close(ch)
	s := &Stream[T]{C: ch, cancel: func(error) {}, done: make(chan struct{}), err: err}
	close(s.done)
	return s
}

// sendValue sends v on ch, blocking while ch is full until ctx is done (its
// error) or the consumer is closed (ErrClosed). With room in ch it sends even
// when the stream is ending: a select among ready cases picks at random, and
// the value would be dropped for nothing.
func sendValue[T any](ctx context.Context, closed <-chan struct{}, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	default:
	}
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return ErrClosed
	}
}
