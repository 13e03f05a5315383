package core

import (
	"context"
	"errors"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

// oneRecord is a Source with one record to hand over; after it, Drain
// reports that it was woken.
type oneRecord struct{ done bool }

func (s *oneRecord) Drain(emit *Emitter) error {
	if s.done {
		return ErrWake
	}
	s.done = true
	return emit.Emit(transport.Record{Sample: []byte{1}})
}

func (s *oneRecord) Interrupt() {}

// TestLoopErrors checks the errors that end a Consume: their text names the
// consumer and the step, and they wrap the cause.
func TestLoopErrors(t *testing.T) {
	stop := errors.New("enough")
	err := LoopTo(context.Background(), "test", NewLifecycle(), &oneRecord{}, NewCounters(0), transport.Receiver{Record: func(transport.Record) error { return stop }})
	if !errors.Is(err, stop) || err.Error() != "test: handler: enough" {
		t.Errorf("handler error: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	err = LoopTo(ctx, "test", NewLifecycle(), &oneRecord{}, NewCounters(0), transport.Receiver{Record: func(transport.Record) error { cancel(); return nil }})
	if !errors.Is(err, context.Canceled) || err.Error() != "test: consume: context canceled" {
		t.Errorf("cancelled: %v", err)
	}

	lc := NewLifecycle()
	lc.Close()
	err = LoopTo(context.Background(), "test", lc, &oneRecord{}, NewCounters(0), transport.Receiver{Record: func(transport.Record) error { return nil }})
	if !errors.Is(err, transport.ErrClosed) || err.Error() != "test: consume: "+transport.ErrClosed.Error() {
		t.Errorf("closed: %v", err)
	}
}
