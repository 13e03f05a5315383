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
// successful write to the same CPU's buffer. Samples still unread when the
// consumer is closed go away with the buffers; the native reader (the
// default) counts them in Stats.Lost too, so Records + Lost is what the
// program wrote.
//
// A perf event array holds one perf event per CPU, so one consumer at a time
// receives a map's samples: opening a consumer replaces the entries of an
// earlier one that is still open (which then receives nothing more). Close
// takes the consumer's entries out of the map, although the map stays open:
// the program's bpf_perf_event_output then fails with ENOENT (count it, as
// for a full buffer) until a new consumer installs its own, and that consumer
// receives only samples written after it opened. Close removes only entries
// the consumer installed and still holds, so closing an older consumer leaves
// a newer one's in place; this needs CAP_SYS_ADMIN (to open the map by ID, a
// map file of the consumer's own, whose entries the kernel removes exactly).
// Without it, Close deletes the entries of the CPUs it installed, whichever
// consumer holds them now: close the old consumer before opening the new one.
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
