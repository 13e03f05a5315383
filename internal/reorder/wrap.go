package reorder

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bpfstream/bpfstream/internal/idle"
	"github.com/bpfstream/bpfstream/transport"
)

// Wrap returns the context and handler to run core.Loop with so that records
// pass through s on their way to h: key picks each record's stream, late
// mirrors s.Late for Stats (which other goroutines read), and held records are
// released from the idle hook, which the consumer's drain timer keeps calling
// while no records arrive.
func (s *Stage) Wrap(ctx context.Context, h transport.Handler, key func(transport.Record) int, late *atomic.Uint64) (context.Context, transport.Handler) {
	outerIdle := idle.Func(ctx)
	release := func() error {
		err := s.Release(h)
		late.Store(s.late)
		if err != nil {
			return err
		}
		return outerIdle()
	}
	push := func(r transport.Record) error {
		err := s.Push(r, key(r), h)
		late.Store(s.late)
		return err
	}
	return idle.With(ctx, release), push
}

// DrainTimer validates o (nil means no stage) and returns the drain interval
// a consumer whose own interval is interval needs so that held records leave
// within about the window: a quarter of the window, at least a millisecond,
// unless interval is already shorter. name prefixes errors.
func DrainTimer(o *transport.Reorder, name string, interval time.Duration) (time.Duration, error) {
	if o == nil {
		return interval, nil
	}
	if o.Timestamp == nil {
		return 0, fmt.Errorf("%s: Reorder.Timestamp is required: %w", name, transport.ErrInvalidOptions)
	}
	if o.Window < 0 {
		return 0, fmt.Errorf("%s: negative Reorder.Window %s: %w", name, o.Window, transport.ErrInvalidOptions)
	}
	if o.Window == 0 {
		return interval, nil // nothing is held
	}
	d := max(o.Window/4, time.Millisecond)
	if interval > 0 && interval < d {
		return interval, nil
	}
	return d, nil
}
