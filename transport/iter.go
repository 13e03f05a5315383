package transport

import (
	"context"
	"errors"
	"iter"
)

// All returns an iterator over c's records: the callback path written as a
// loop. The loop body runs as the handler of c.Consume, on the goroutine that
// ranges: no goroutine, no channel, no copy. Go runs a range-over-func body
// as one more function call per record, which shows on small records
// (BENCHMARKS.md, "Choices in the code"). Use Consume where every nanosecond
// counts.
//
//	for rec, err := range transport.All(ctx, c) {
//		if err != nil {
//			return err // what ended Consume
//		}
//		handle(rec) // rec.Sample is valid until the next iteration
//	}
//
// As in a Handler, a record's sample is borrowed: valid only until the
// iteration ends; copy what must outlive it. The iteration ends after one
// last pair with a nil record and the error that ended Consume: the
// context's (errors.Is(err, context.Canceled) or DeadlineExceeded), [ErrClosed]
// after Close, or the reader's. A break ends Consume after the record it
// broke on, which counts as delivered, without that last pair; a panic in
// the loop body reaches the caller as a panic in a Handler does. Only one
// Consume runs on a consumer at a time, so do not range over All while a
// stream or another Consume runs on c.
func All(ctx context.Context, c Consumer) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		err := c.Consume(ctx, func(r Record) error {
			if !yield(r, nil) {
				return errBreak
			}
			return nil
		})
		if err != nil && !errors.Is(err, errBreak) {
			yield(Record{}, err)
		}
	}
}

// errBreak is the handler's error that ends the Consume behind All when the
// loop breaks.
var errBreak = errors.New("transport: loop ended")
