// Package bpf holds bpfstream's reference exec programs: three BPF programs
// on the tp/sched/sched_process_exec tracepoint that emit one event (see
// event.Exec) per exec, each through a different kernel transport:
//
//   - PerfbufOutput: builds the event in a per-CPU scratch slot and copies it
//     into a perf event array with bpf_perf_event_output.
//   - RingbufOutput: builds it the same way and copies it into a 256 KiB ring
//     buffer with bpf_ringbuf_output.
//   - RingbufReserveSubmit: reserves room in the ring, fills the event in
//     place and submits it; when the ring is full it skips the work.
//
// Open loads one of them, attaches it, and returns a ready transport.Consumer
// for its map. The ringbuf programs count their drops in a per-CPU map that
// Open wires into the consumer, so Stats.Lost is exact for all three.
//
// The C sources, a small common.h and the bpf2go bindings live in this
// directory; the compiled objects are committed and embedded. Regenerate them
// with `go generate ./bpf` (needs clang and llvm-strip).
//
// link.Tracepoint needs tracefs. When it is not mounted, Open fails with an
// error matching ErrNoTracefs (set Options.MountTracefs, or call
// MountTracefs, to mount it as root). Mount it before the process first tries
// to attach a tracepoint: cilium/ebpf looks tracefs up once per process and
// remembers a failure.
package bpf
