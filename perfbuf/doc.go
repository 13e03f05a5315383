// Package perfbuf reads BPF perf event arrays (BPF_MAP_TYPE_PERF_EVENT_ARRAY)
// as a bpfstream [Consumer].
//
// A perf event array has one buffer per CPU. The consumer creates and maps one
// per online CPU and installs it in the map, so a BPF program writes with
//
//	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
//
// Each CPU's records arrive in order; records of different CPUs interleave
// arbitrarily. Record.CPU says which buffer a record came from.
//
// The kernel counts what it could not write into a full buffer and reports it
// to the reader; those counts are Stats.Lost and Stats.LostPerCPU, and
// [Options.OnLost] sees each report. A lost report arrives only after the next
// successful write to the same CPU's buffer. At Close the native reader (the
// default) adds to [transport.Stats].Lost what the buffers still hold (unread samples and
// loss reports) and the losses the kernel has counted but not reported yet,
// which it reads from the perf events (PERF_FORMAT_LOST, Linux 6.0 and
// later): once Close and Consume have returned, Records + Lost is exactly
// what the program wrote. Where that cannot be known, Stats.LostKnown is
// false after Close: on kernels before 6.0, and with BackendCilium, whose
// reader drops what its buffers still hold without a count.
//
// A perf event array holds one perf event per CPU, so one consumer at a time
// receives a map's samples. In one process, a second consumer of a map
// whose entries an open consumer holds is refused with an error matching
// transport.ErrInUse that names the map (also through another handle on the
// map). A consumer in another process replaces the entries of one open here
// (which then receives nothing more).
//
// Close takes the consumer's entries out of the map before it returns, also
// while Consume is still running, although the map stays open: once Close has
// returned, no write lands in the closed consumer's buffers. The program's
// bpf_perf_event_output then fails with ENOENT (count it, as for a full
// buffer) until a new consumer installs its own, and a consumer opened after
// Close has returned receives every sample written after it opened, with or
// without CAP_SYS_ADMIN. Close removes only entries the consumer installed
// and still holds, so closing a consumer whose entries another process has
// replaced leaves that process's in place; this needs CAP_SYS_ADMIN (to open
// the map by ID, a map file of the consumer's own, whose entries the kernel
// removes exactly). Without it, Close deletes the entries of the CPUs it
// installed, whichever consumer holds them now.
//
// Samples are padded by the kernel: Record.Sample carries 0-7 trailing bytes
// after what the program wrote. Decode a fixed-size prefix (package event
// does).
//
// Perf buffers have no counterpart of ringbuf.Options.Coalesce: the kernel
// decides a perf wake-up from the events or bytes written since the last
// one, never from the reader's position, so a reader cannot stop arming it.
// The equivalent is set at open: [Options.WakeupEvents] or WakeupBytes (a
// wake-up every N samples or bytes per CPU) with [Options.DrainInterval] as
// the bound on the delay of the samples below the threshold.
package perfbuf
