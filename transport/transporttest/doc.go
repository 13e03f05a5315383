// Package transporttest provides utilities for testing code built on
// bpfstream transports, in the way net/http/httptest does for HTTP.
//
// Fake is a transport.Consumer fed from Go code. Code that consumes BPF
// events can be tested with it without root, BPF or a kernel: the test emits
// samples with [Fake.Emit] (and losses with [Fake.EmitLost]), and the code under
// test reads them through the ordinary Consumer interface, callback or
// channel API. The [Fake] runs the same consume loop as the real perfbuf and
// ringbuf consumers, and honours every rule they do: blocking Consume,
// in-order delivery, borrowed bytes, prompt Close and cancellation, ErrClosed,
// ErrBusy, wrapped handler errors, concurrent Stats. By default it also
// overwrites the bytes it lent to a handler once the handler returns, so that
// code keeping Record.Sample beyond its handler fails in tests instead of in
// production.
//
// [Fake.EmitValue] emits a Go value as the bytes a program would write
// (event.Encode), so a handler test needs no encoding/binary.
//
// KernelProducer is for integration tests with real BPF: it loads a small
// program against your own ring buffer or perf event array (and drop counter)
// and runs it with BPF_PROG_TEST_RUN, so that the kernel emits exactly N
// numbered samples on a chosen CPU, with a chosen ring buffer wake-up policy.
// Checker then verifies what your consumer delivered: each sample once, each
// CPU's samples in order, and every sample delivered or counted in
// Stats.Lost. It needs CAP_BPF.
//
// The maps [NewKernelProducer] takes are yours: the ring buffer or perf event
// array your consumer reads, and optionally the drop counter, created from
// your BPF object or directly:
//
//	// a ring buffer of 256 KiB (a power of two of pages)
//	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 256 << 10})
//	// or a perf event array with a slot per possible CPU
//	pa, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
//	// the drop counter: a per-CPU array of one u32 -> u64 slot
//	drops, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
//
// Pass the same drop counter to [ringbuf.Options].DropCounter so that the
// consumer's Stats.Lost counts what the producer could not write.
//
// Run is the conformance suite: the rules every Consumer honours (see the
// transport package), each checked by a subtest. It runs against the Fake in
// this package's tests and against the perfbuf and ringbuf consumers, fed by a
// BPF producer, in theirs. A [Harness] tells [Run] how to make a consumer and
// how to make samples arrive in it.
//
// A consumer of your own needs only the methods of [transport.Consumer] to
// pass Run and to work with every API of package transport; implementing the
// optional [transport.ConsumerTo] as well makes batched streams cheaper. The
// in-memory consumer of this package's example (Example_memoryConsumer) is
// written against the transport package's documentation alone and passes
// Run in full.
package transporttest
