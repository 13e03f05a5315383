package reorder

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
)

// Wrap returns the context and handler to run core.Loop with so that records
// pass through s on their way to h: key picks each record's stream, late
// mirrors s.Late for Stats (which other goroutines read), and held records are
// released from the idle hook, which the consumer's drain timer keeps calling
// while no records arrive.
func (s *Stage) Wrap(ctx context.Context, h core.Handler, key func(core.Record) int, late *atomic.Uint64) (context.Context, core.Handler) {
	outerIdle := core.IdleFunc(ctx)
	idle := func() error {
		err := s.Release(h)
		late.Store(s.late)
		if err != nil {
			return err
		}
		return outerIdle()
	}
	push := func(r core.Record) error {
		err := s.Push(r, key(r), h)
		late.Store(s.late)
		return err
	}
	return core.WithIdleFunc(ctx, idle), push
}

// Options configure a re-ordering stage; transports embed them.
type Options struct {
	// Timestamp reads a record's timestamp (for example a bpf_ktime_get_ns
	// value the program wrote at a fixed offset). Required.
	Timestamp Timestamp
	// Window is the longest a record is held waiting for older records from
	// other streams: the latency the stage adds. Zero releases records at
	// once (and only counts the late ones).
	Window time.Duration
}

// DrainTimer validates o (nil means no stage) and returns the drain interval
// a consumer whose own interval is interval needs so that held records leave
// within about the window: a quarter of the window, at least a millisecond,
// unless interval is already shorter. name prefixes errors.
func DrainTimer(o *Options, name string, interval time.Duration) (time.Duration, error) {
	if o == nil {
		return interval, nil
	}
	if o.Timestamp == nil {
		return 0, fmt.Errorf("%s: Reorder.Timestamp is required: %w", name, core.ErrInvalidOptions)
	}
	if o.Window < 0 {
		return 0, fmt.Errorf("%s: negative Reorder.Window %s: %w", name, o.Window, core.ErrInvalidOptions)
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
