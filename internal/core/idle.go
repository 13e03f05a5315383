package core

import "context"

type idleKey struct{}

// WithIdleFunc returns a context that carries f. Consumers call it (through
// IdleFunc) each time they have handed over every record that was waiting and
// are about to wait for more. The batched channel API uses it to send a
// partial batch instead of holding it until the next record arrives. An error
// from f ends Consume like a handler error.
func WithIdleFunc(ctx context.Context, f func() error) context.Context {
	return context.WithValue(ctx, idleKey{}, f)
}

// IdleFunc returns the function stored by WithIdleFunc, or a no-op.
func IdleFunc(ctx context.Context) func() error {
	if f, ok := ctx.Value(idleKey{}).(func() error); ok && f != nil {
		return f
	}
	return func() error { return nil }
}
