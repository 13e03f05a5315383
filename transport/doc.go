// Package transport is bpfstream's contract: one [Consumer] interface over BPF
// perf buffers (package perfbuf) and BPF ring buffers (package ringbuf), the
// [Record], [Handler] and [Stats] types they share, the sentinel errors, the
// iterator All, and the channel API ([Stream]). Package bpfstream opens the
// right Consumer for a map by its type; package transporttest has a fake
// Consumer for tests without root and the conformance suite that every
// implementation passes.
//
// # Why two transports
//
// A perf event array (perfbuf) has one buffer per CPU: each must be sized for
// that CPU's own bursts, so memory is size × CPUs, and records of different
// CPUs reach user space interleaved. The kernel counts what it could not write
// and reports it to the reader. A BPF ring buffer (ringbuf, Linux 5.8+) is one
// multi-producer, single-consumer ring shared by all CPUs, sized once (a power
// of two of pages); records arrive in the order producers committed them.
// bpf_ringbuf_output copies a built sample in; bpf_ringbuf_reserve and
// bpf_ringbuf_submit let the program write in place and skip work when the
// ring is full. The kernel does not count ringbuf drops: the program must.
// Prefer ringbuf where the kernel has it.
//
// # Reading: callback and channel
//
// [Consumer.Consume](ctx, handler) blocks and hands each record to handler, in
// arrival order, on the calling goroutine. It is the fast path: it reads in
// place from the kernel's buffer, with no copy, no lock, no syscall and no
// allocation per record. [Consumer.ConsumeBatches](ctx, batchHandler) hands
// over slices of consecutive records instead: one call per batch rather than
// one per record. All(ctx, c) is Consume written as a loop (for rec, err :=
// range): the loop body is the handler (one function call per record more),
// and a record's bytes are borrowed until the next iteration.
//
// The channel API (Records, [Batches], [NewStream], and event.NewStream for
// decoded events) runs Consume on a goroutine of its own and sends values on
// [Stream.C]. Records and decoded events own their bytes. A Batch owns copies of
// its records' bytes in memory that Batch.Release recycles for later batches,
// or, with [ChannelOptions.Borrow], borrows them from the kernel buffer, whose
// space Release gives back (in buffer order, whatever order batches are
// released in; an unreleased borrowed batch holds its space, so the buffer
// fills and producers drop, which [Stats.Lost] and PendingBytes show). Receive
// until C is closed, then call [Stream.Err], like bufio.Scanner.Err. A receiver that falls behind slows the
// consumer down; the kernel buffer then fills and the kernel's (perfbuf) or
// the program's (ringbuf) loss count grows. Nothing is dropped in user space
// while a stream runs; the one value being sent when the stream ends into a
// full channel is dropped (its records are counted in [Stats.Records]).
//
// # Borrowed bytes
//
// On the callback path [Record.Sample] is borrowed: it points into the kernel's
// buffer (or memory the consumer reuses) and is valid only until the handler
// returns. The consumer hands the space back to the kernel after the handler
// returns; a handler that keeps Sample, or a slice of it, reads whatever the
// producer writes there next. Copy what you keep. transporttest.Fake
// overwrites lent bytes after each handler, so that such bugs show up in
// tests. Values received from a Stream own their bytes, except borrowed
// batches, whose bytes are valid until Release.
//
// # Nothing lost silently
//
// Every sample a producer emitted is delivered to a handler (Stats.Records) or
// counted as lost (Stats.Lost); Records + Lost is what the producers emitted.
//
//   - perfbuf: the kernel counts samples it could not write into a full
//     per-CPU buffer and reports them with the next successful write;
//     Stats.Lost and Stats.LostPerCPU carry the counts, and
//     perfbuf.Options.OnLost sees each report. Samples still unread when the
//     consumer is closed go away with the buffers: the native reader counts
//     them in Lost too.
//   - ringbuf: the kernel keeps no count. The program counts its failed
//     reserve/output calls in a map that ringbuf.Options.DropCounter names;
//     without one, Stats.LostKnown is false and losses are invisible.
//   - Records that reached user space but failed to decode are in Records and
//     also in Stats.DecodeErrors (event.Decoder.Stats fills it in).
//
// A handler that panics: the panic reaches the caller of Consume unchanged;
// the consumer stays usable, and the native readers hand the record whose
// handler panicked over again on the next Consume (it is counted once).
//
// # Ordering
//
// ringbuf delivers in commit order. perfbuf delivers each CPU's records in
// order but interleaves CPUs arbitrarily; [Record.CPU] says which buffer a
// record came from. A consumer that reads several streams (perfbuf's CPUs,
// several rings) can merge them by a timestamp the caller reads from each
// sample ([Reorder]): records are held for a bounded window, and [Stats.Late]
// counts those that arrived too late to be placed.
//
// # Ending: Close and cancellation
//
// Consume returns when its context is done (an error matching ctx.Err(), with
// the context's cause when there is a different one), when Close is called
// ([ErrClosed]), or when the handler returns an error (that error, wrapped).
// Cancellation and Close are noticed promptly while Consume waits for records,
// and within at most 64 records while it is handing records over, so a handler
// that cancels its own context receives at most 64 more. Close is idempotent,
// safe from any goroutine (also from a handler), and leaves no goroutine
// behind; Consume after Close returns ErrClosed. Only one Consume runs at a
// time ([ErrBusy]). Close the consumer before the maps it reads: the consumer
// does not own them.
//
// # Implementing a Consumer
//
// A Consumer of your own (over another kind of buffer, or over memory)
// implements the methods of [Consumer] as documented, and works with every
// API of this package; transporttest.Run checks that it honours every rule
// above. A consumer that can also tell its handler when it has handed over
// everything that was waiting, take a per-call limit, or lend records
// without copying them implements the optional [ConsumerTo]: [Batches] then
// uses its [Receiver] hooks. Without it, Batches sends what each
// ConsumeBatches call handed over when the call returns. No protocol
// travels in a context.
//
// # Stats
//
// Stats is safe to call at any time, also concurrently with Consume, and
// cheap: read it every few seconds and compute rates from differences
// (package transport/metrics exports it to Prometheus). Counters only grow.
//
// # Errors
//
// Every error wraps a sentinel for errors.Is and says in its text what was
// wrong: ErrClosed, ErrBusy, [ErrMapType] (a map the transport cannot read),
// [ErrInvalidOptions] (a nil argument or an option the kernel would refuse),
// [ErrPermission] (names the missing capability) and [ErrCorrupt] (a kernel
// buffer holding a record that cannot be; the consumer is unusable). A read
// error ends Consume; close the consumer and open a new one.
package transport
