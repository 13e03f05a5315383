// Package producer is an in-kernel test producer: BPF socket-filter programs
// run with BPF_PROG_TEST_RUN and a repeat count, so that the kernel itself
// emits N samples of a chosen size into a BPF ring buffer or a perf event
// array. It makes exact-count, loss, order and speed tests deterministic
// without depending on real tracepoint traffic.
//
// Every sample starts with a 24-byte header (see [Header] and [ParseHeader]):
// a globally unique sequence number, the bpf_ktime_get_ns timestamp, the CPU
// the sample was produced on, and the sample size. The payload after the
// header has unspecified contents, except with variable sizes
// (Config.MaxSampleSize), where it is a pattern of the sequence number
// ([PayloadByte]).
//
// The kernel restarts an interrupted test run from the start; a per-CPU
// budget that the loader sets before each run makes a run of n emit exactly n
// samples all the same, as long as no two runs on one CPU overlap.
// [Producer.Attempted] counts what all runs emitted.
//
// A Producer creates its own output map and drop counter, or loads its
// program against the caller's (Config.Map, Config.Drops).
//
// The package needs Linux on a little-endian architecture (the BPF object is
// compiled for bpfel only).
package producer
