package transport

import (
	"context"
	"fmt"
)

// Consumer reads samples from one or more BPF maps. perfbuf.Consumer and
// ringbuf.Consumer implement it over the kernel's buffers, and
// transporttest.Fake over records emitted from Go; every implementation passes
// the conformance suite transporttest.Run.
//
// Consume and Close may be called from different goroutines. Stats, Kind and
// Done are safe to call at any time, also concurrently with Consume.
type Consumer interface {
	// Consume blocks, handing each record to h in arrival order, until ctx
	// is done (it returns ctx.Err() wrapped, with the context's cause when
	// it has a different one), Close is called ([ErrClosed] wrapped) or h
	// returns an error (that error wrapped). Only one Consume may run at a
	// time ([ErrBusy] otherwise); a nil ctx or h is [ErrInvalidOptions]. The
	// sample bytes h receives are borrowed: valid only until h returns.
	// Consume makes no allocation per record.
	//
	// Consume notices a cancelled ctx or a Close within at most 64 records
	// (promptly while it waits for records): a handler that cancels its
	// own context receives at most 64 more records.
	Consume(ctx context.Context, h Handler) error
	// ConsumeBatches is Consume with one call of h per batch of records
	// instead of one per record: the native readers hand over a slice of
	// consecutive records of one buffer (up to 256), so a handler that
	// loops over them saves an indirect call per record. The records and
	// their samples are borrowed until h returns. Cancellation and Close
	// are noticed within at most 64 records or one batch. Everything else
	// is as for Consume.
	ConsumeBatches(ctx context.Context, h BatchHandler) error
	// Stats returns a snapshot of the consumer's counters.
	Stats() Stats
	// Kind tells which transport the consumer reads.
	Kind() Kind
	// Done returns a channel that is closed when Close is called, so that
	// code running above a consumer (the channel API) can stop waiting for
	// it.
	Done() <-chan struct{}
	// Close releases the consumer's kernel resources and makes a running
	// Consume return promptly with [ErrClosed]. It is idempotent and safe to
	// call from any goroutine. It does not close the maps the consumer was
	// built from: those belong to the caller, who should close them after
	// the consumer.
	Close() error
}

// Handler receives records in arrival order on the consuming goroutine.
// Returning a non-nil error stops consumption; Consume returns that error
// wrapped. A panic in a handler reaches the caller of Consume unchanged.
type Handler func(Record) error

// BatchHandler receives records a batch at a time, in arrival order, on the
// consuming goroutine (see [Consumer.ConsumeBatches]). The slice is never
// empty; it and the samples it holds are borrowed: valid only until the
// handler returns. Returning a non-nil error stops consumption, as for a
// [Handler]; the whole batch counts as handed over.
type BatchHandler func([]Record) error

// Kind names the kernel transport behind a [Consumer].
type Kind int

const (
	// KindUnknown is the zero Kind; no real consumer reports it.
	KindUnknown Kind = iota
	// KindPerfbuf is a BPF_MAP_TYPE_PERF_EVENT_ARRAY: one buffer per CPU.
	KindPerfbuf
	// KindRingbuf is a BPF_MAP_TYPE_RINGBUF: one buffer shared by all CPUs.
	KindRingbuf
	// KindFake is a consumer fed from Go code (transporttest.Fake).
	KindFake
)

// String returns "perfbuf", "ringbuf", "fake" or "unknown(N)".
func (k Kind) String() string {
	switch k {
	case KindPerfbuf:
		return "perfbuf"
	case KindRingbuf:
		return "ringbuf"
	case KindFake:
		return "fake"
	default:
		return fmt.Sprintf("unknown(%d)", int(k))
	}
}
