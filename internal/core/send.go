package core

import "context"

// Send sends v on ch for a consumer's channel API, blocking while ch is full
// until ctx is done (its error) or the consumer is closed (ErrClosed). With
// room in ch it sends even when consumption is ending: a select among ready
// cases picks at random, and the record would be dropped for nothing.
func Send[T any](ctx context.Context, closed <-chan struct{}, ch chan<- T, v T) error {
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
