package core

import (
	"context"
	"fmt"
)

// Kind names the kernel transport behind a Consumer.
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

// String returns "perfbuf", "ringbuf", "fake" or "unknown".
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

// NoCPU is the CPU of a record whose transport does not say which CPU
// produced it (ringbuf).
const NoCPU = -1

// Record is one sample read from a kernel buffer.
//
// On the callback path Sample is borrowed: it points into memory that the
// consumer reuses, and is valid only until the Handler returns. Copy it to keep
// it. Records received from a channel own their bytes.
type Record struct {
	// Sample holds the bytes the BPF program emitted. perfbuf samples carry
	// 0-7 bytes of trailing padding (the kernel aligns them to 8 bytes), so
	// decoders must read a fixed-size prefix rather than trust len(Sample).
	Sample []byte
	// CPU is the CPU whose buffer held the sample (perfbuf), or NoCPU (-1).
	CPU int
	// Source is the index of the map the sample came from when one consumer
	// reads several maps; 0 otherwise.
	Source int
}

// Handler receives records in arrival order. Returning a non-nil error stops
// consumption; Consume returns that error wrapped.
type Handler func(Record) error

// Consumer reads samples from one or more BPF maps.
//
// Consume and Close may be called from different goroutines. Stats is safe to
// call at any time, also concurrently with Consume.
type Consumer interface {
	// Consume blocks, handing each record to h in arrival order, until ctx
	// is done (it returns ctx.Err() wrapped), Close is called (ErrClosed
	// wrapped) or h returns an error (that error wrapped). Only one Consume
	// may run at a time (ErrBusy otherwise). The callback path makes no
	// allocation per record.
	Consume(ctx context.Context, h Handler) error
	// Stats returns a snapshot of the consumer's counters.
	Stats() Stats
	// Kind tells which transport the consumer reads.
	Kind() Kind
	// Done returns a channel that is closed when Close is called, so that
	// code running above a consumer can stop waiting for it.
	Done() <-chan struct{}
	// Close releases the consumer's kernel resources and unblocks a running
	// Consume. It is idempotent and safe to call from any goroutine. It does
	// not close the maps the consumer was built from: those belong to the
	// caller.
	Close() error
}
