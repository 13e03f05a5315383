package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// ErrFull is returned (wrapped) by [Fake.Emit] when the [Fake] has a Capacity and
// that many samples are already waiting. The sample is counted in
// Stats.Lost, as a kernel counts a sample that did not fit in a full buffer.
var ErrFull = errors.New("transporttest: fake buffer full, sample counted as lost")

// poison is the byte that overwrites a lent sample once its handler returns.
const poison = 0xA5

// Fake is a [transport.Consumer] fed from Go code, for testing code that
// consumes BPF events without BPF. Emit (or EmitRecord) queues a sample,
// EmitLost counts samples as lost, and Consume hands the queued samples to its
// handler in the order they were emitted, then blocks until more arrive, ctx
// is done or Close is called.
//
// On the callback path Record.Sample is borrowed, as with the real
// transports: it is a copy the Fake reuses for the next record, and unless
// [FakeOptions.KeepLentBytes] is set, the Fake overwrites it with 0xA5 bytes as
// soon as the handler returns.
//
// Close discards the samples still queued. Use WaitDelivered before Close to
// let the code under test see every sample first.
//
// All methods are safe for concurrent use. The zero Fake is not usable: call
// [NewFake].
type Fake struct {
	opts     FakeOptions
	invalid  error // why opts are invalid; nil when they are valid
	lc       *core.Lifecycle
	counters *core.Counters
	src      fakeSource

	// wake holds one pending wake-up for a Drain waiting for samples.
	wake chan struct{}

	mu           sync.Mutex
	closed       bool
	queue        []transport.Record // owned copies; queue[head:] wait
	head         int
	pendingBytes uint64
	emitted      uint64        // samples Emit accepted or dropped
	finished     uint64        // samples delivered (handler returned) or dropped
	progress     chan struct{} // closed when finished grows or on Close; nil when nobody waits
	interrupted  bool
	// lending is set while the record at the head is with a handler: it
	// no longer takes room in the buffer (a kernel buffer frees a record's
	// room when it is read), but it leaves the queue only once delivered.
	lending bool
}

// NewFake returns an open [Fake] with nothing queued.
func NewFake(opts FakeOptions) *Fake {
	if opts.Kind == transport.KindUnknown {
		opts.Kind = transport.KindFake
	}
	f := &Fake{
		opts:     opts,
		lc:       core.NewLifecycle(),
		counters: core.NewCounters(0),
		wake:     make(chan struct{}, 1),
	}
	f.src.f = f
	f.invalid = opts.check()
	return f
}

// Emit queues a copy of sample, with CPU [transport.NoCPU] and Source 0. It
// fails with an error matching [transport.ErrClosed] after Close, and with
// [ErrFull] (the sample then counted as lost) when [FakeOptions.Capacity] samples
// are already waiting. It never blocks for long.
func (f *Fake) Emit(sample []byte) error {
	return f.EmitRecord(transport.Record{Sample: sample, CPU: transport.NoCPU})
}

// EmitValue queues the bytes a BPF program emits for v, as [event.Encode]
// lays them out (host byte order, v's C layout, padding zero): v is a
// fixed-layout struct (or a pointer to one) that an [event.Decoder] decodes.
// A type without a fixed layout is an error matching
// [event.ErrUnsupportedType]; otherwise it is Emit(event.Encode(v)). Use
// VarDecoder.Encode for a header followed by a variable tail.
func (f *Fake) EmitValue(v any) error {
	b, err := event.Encode(v)
	if err != nil {
		return fmt.Errorf("transporttest: emit value: %w", err)
	}
	return f.Emit(b)
}

// EmitRecord is like Emit, but the record's CPU and Source are delivered as
// given, to mimic a perfbuf consumer (CPU >= 0) or one reading several maps.
// The bytes are copied.
func (f *Fake) EmitRecord(r transport.Record) error {
	r.Sample = bytes.Clone(r.Sample)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return fmt.Errorf("transporttest: emit: %w", transport.ErrClosed)
	}
	if f.invalid != nil {
		f.mu.Unlock()
		return f.invalid
	}
	f.emitted++
	if f.opts.Capacity > 0 && f.waitingLocked() >= f.opts.Capacity {
		f.counters.AddLost(int(r.CPU), 1)
		f.finishLocked()
		f.mu.Unlock()
		return fmt.Errorf("transporttest: emit: %w", ErrFull)
	}
	f.queue = append(f.queue, r)
	f.pendingBytes += uint64(len(r.Sample))
	f.mu.Unlock()
	f.signal()
	return nil
}

// EmitLost counts n samples as lost, as a kernel reports samples it could not
// write: they show in Stats.Lost at once. It fails with an error matching
// [transport.ErrClosed] after Close.
func (f *Fake) EmitLost(n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("transporttest: emit lost: %w", transport.ErrClosed)
	}
	if f.invalid != nil {
		return f.invalid
	}
	f.counters.AddLost(transport.NoCPU, n)
	return nil
}

// WaitDelivered blocks until every sample emitted before the call has been
// handed to a handler and the handler has returned (or was dropped for lack of
// Capacity). It fails with ctx's error when ctx ends first, and with an error
// matching [transport.ErrClosed] when the [Fake] is closed first.
func (f *Fake) WaitDelivered(ctx context.Context) error {
	f.mu.Lock()
	target := f.emitted
	for f.finished < target {
		if f.closed {
			f.mu.Unlock()
			return fmt.Errorf("transporttest: wait delivered: %w", transport.ErrClosed)
		}
		if f.progress == nil {
			f.progress = make(chan struct{})
		}
		progress := f.progress
		f.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("transporttest: wait delivered: %w", ctx.Err())
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// Consume implements [transport.Consumer]. It hands each queued record to h
// in the order emitted, then blocks for more, until ctx is done, Close is
// called or h returns an error. Record.Sample is valid only until h returns.
func (f *Fake) Consume(ctx context.Context, h transport.Handler) error {
	return f.ConsumeTo(ctx, transport.Receiver{Record: h})
}

// ConsumeBatches implements [transport.Consumer]. The [Fake] hands over one
// record per call, borrowed (and poisoned) like Consume's.
func (f *Fake) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	return f.ConsumeTo(ctx, core.BatchReceiver(h))
}

// ConsumeTo implements [transport.ConsumerTo], as the real consumers do: it
// calls r.Idle each time its queue is empty, before it waits. It hands over
// one record per call and lends nothing.
func (f *Fake) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	if f.invalid != nil {
		return f.invalid
	}
	// A record leaves the queue once its handler has returned: a record
	// whose handler panicked stays and is handed over again by the next
	// Consume, as the real consumers do.
	if h := r.Record; h != nil {
		r.Record = func(rec transport.Record) error {
			err := h(rec)
			f.src.handed = true
			return err
		}
	}
	if h := r.Batch; h != nil {
		r.Batch = func(recs []transport.Record, loan transport.Loan) error {
			f.src.handed = true
			return h(recs, loan)
		}
	}
	return core.LoopTo(ctx, "transporttest: fake", f.lc, &f.src, f.counters, r)
}

// Stats implements [transport.Consumer]. Lost counts EmitLost and samples
// dropped for lack of Capacity, so LostKnown is true; PendingBytes is the size
// of the samples waiting; BufferBytes is zero.
func (f *Fake) Stats() transport.Stats {
	s := f.counters.Snapshot()
	s.LostKnown = true
	f.mu.Lock()
	s.PendingBytes = f.pendingBytes
	f.mu.Unlock()
	return s
}

// Kind implements [transport.Consumer]: [FakeOptions.Kind], [transport.KindFake] by
// default.
func (f *Fake) Kind() transport.Kind { return f.opts.Kind }

// Done implements [transport.Consumer]: the channel is closed by Close.
func (f *Fake) Done() <-chan struct{} { return f.lc.Done() }

// Close implements [transport.Consumer]. It discards the queued samples,
// unblocks a running Consume (which returns an error matching
// [transport.ErrClosed]) and makes later Emit calls fail. It is idempotent and
// always returns nil.
func (f *Fake) Close() error {
	if !f.lc.Close() {
		return nil
	}
	f.mu.Lock()
	f.closed = true
	clear(f.queue)
	f.queue, f.head, f.pendingBytes, f.lending = nil, 0, 0, false
	if f.progress != nil {
		close(f.progress)
		f.progress = nil
	}
	f.mu.Unlock()
	f.signal()
	return nil
}

// waitingLocked returns how many records take room in the buffer.
func (f *Fake) waitingLocked() int {
	n := len(f.queue) - f.head
	if f.lending {
		n--
	}
	return n
}

// signal wakes a Drain waiting for samples, now or when it next waits.
func (f *Fake) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// finishLocked counts one more sample as delivered or dropped.
func (f *Fake) finishLocked() {
	f.finished++
	if f.progress != nil {
		close(f.progress)
		f.progress = nil
	}
}

// fakeSource feeds core.LoopTo from the Fake's queue. Only the goroutine
// running Consume calls Drain (core.Lifecycle allows one at a time).
type fakeSource struct {
	f *Fake
	// lent is the buffer samples are copied into for the handler.
	lent []byte
	// handed is set by the handler wrapper when the user's handler has
	// returned for the record being lent.
	handed bool
}

// Drain implements core.Source.
func (s *fakeSource) Drain(emit *core.Emitter) error {
	f := s.f
	f.mu.Lock()
	for f.head == len(f.queue) {
		if f.closed {
			f.mu.Unlock()
			return transport.ErrClosed
		}
		if f.interrupted {
			f.interrupted = false
			f.mu.Unlock()
			return core.ErrWake
		}
		f.mu.Unlock()
		<-f.wake
		f.mu.Lock()
	}
	// Hand over what is waiting now; what arrives meanwhile waits for the
	// next Drain, as with a kernel buffer drained after one wake-up.
	n := len(f.queue) - f.head
	f.mu.Unlock()
	f.counters.Wakeups.Add(1)
	for range n {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return transport.ErrClosed
		}
		r := f.queue[f.head]
		f.lending = true
		f.mu.Unlock()
		if err := s.deliver(emit, r); err != nil {
			return err
		}
	}
	return nil
}

// deliver lends r to emit and removes it from the queue once the handler has
// returned (not when it panicked).
func (s *fakeSource) deliver(emit *core.Emitter, r transport.Record) error {
	s.lent = append(s.lent[:0], r.Sample...)
	sample := s.lent[:len(r.Sample):len(r.Sample)]
	if r.Sample == nil {
		sample = nil
	}
	s.handed = false
	defer func() {
		if !s.handed {
			s.f.mu.Lock()
			s.f.lending = false
			s.f.mu.Unlock()
			return
		}
		if !s.f.opts.KeepLentBytes {
			for i := range sample {
				sample[i] = poison
			}
		}
		s.f.pop()
	}()
	return emit.Emit(transport.Record{Sample: sample, CPU: r.CPU, Source: r.Source})
}

// pop removes the record at the head of the queue after it was delivered.
func (f *Fake) pop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lending = false
	if f.closed {
		return
	}
	f.pendingBytes -= uint64(len(f.queue[f.head].Sample))
	f.queue[f.head] = transport.Record{}
	f.head++
	if f.head == len(f.queue) {
		f.queue, f.head = f.queue[:0], 0
	} else if f.head >= 1024 && f.head >= len(f.queue)/2 {
		// Reclaim the delivered half so a long-lived Fake that is
		// never quite empty does not grow without bound.
		k := copy(f.queue, f.queue[f.head:])
		clear(f.queue[k:])
		f.queue, f.head = f.queue[:k], 0
	}
	f.finishLocked()
}

// Interrupt implements core.Source.
func (s *fakeSource) Interrupt() {
	s.f.mu.Lock()
	s.f.interrupted = true
	s.f.mu.Unlock()
	s.f.signal()
}

var _ transport.ConsumerTo = (*Fake)(nil)
