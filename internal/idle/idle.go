// Package idle carries a consumer's idle hook in a context: a function the
// consume loop calls each time it has handed over every record that was
// waiting and is about to wait for more. The batched channel API uses it to
// send a partial batch instead of holding it until the next record arrives,
// and the re-ordering stage to release records that have waited long enough.
package idle

import "context"

type key struct{}

// With returns a context that carries f. An error from f ends Consume like a
// handler error.
func With(ctx context.Context, f func() error) context.Context {
	return context.WithValue(ctx, key{}, f)
}

// Func returns the function stored by With, or a no-op.
func Func(ctx context.Context) func() error {
	if f, ok := ctx.Value(key{}).(func() error); ok && f != nil {
		return f
	}
	return func() error { return nil }
}
