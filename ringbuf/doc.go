// Package ringbuf reads BPF ring buffers (BPF_MAP_TYPE_RINGBUF) as a
// bpfstream [Consumer].
//
// A ring buffer is one multi-producer, single-consumer ring shared by all
// CPUs (Linux 5.8+). Records arrive in the order producers committed them and
// carry CPU -1 (transport.NoCPU).
//
// # One consumer per ring
//
// A ring has one consumer position, so it has one reader at a time: in one
// process, a second consumer of a ring an open consumer reads (with either
// backend, through any handle on the map, alone or in a NewMulti set) is
// refused with an error matching transport.ErrInUse that names the map; a
// refused set takes none of its rings. Close the first consumer to hand the
// ring over: a consumer opened after Close has returned starts where the
// closed one stopped. If the closed consumer's handler is still running
// (Close does not wait for it), the new consumer's constructor waits for it
// to return, up to 5 seconds, and then fails with an error matching
// transport.ErrBusy; so every record is handed over exactly once across
// the handover. Consumers in different processes are not coordinated.
//
// # Losses
//
// The kernel does not count samples it could not fit in a full ring: a failed
// bpf_ringbuf_reserve returns NULL and a failed bpf_ringbuf_output returns an
// error, and that is all. To make losses visible, count them in the BPF
// program and name the counter in [Options.DropCounter]; Stats.Lost then reports
// its sum. The convention is a per-CPU array with one u64 slot:
//
//	struct {
//		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
//		__uint(max_entries, 1);
//		__type(key, __u32);
//		__type(value, __u64);
//	} drops SEC(".maps");
//
//	static __always_inline void count_drop(void) {
//		__u32 zero = 0;
//		__u64 *n = bpf_map_lookup_elem(&drops, &zero);
//		if (n)
//			(*n)++; // per-CPU slot: no atomic needed
//	}
//
//	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
//	if (!e) { count_drop(); return 0; }
//
// A plain BPF_MAP_TYPE_ARRAY of u64 (incremented with __sync_fetch_and_add)
// works too; every slot of the map is summed.
//
// # Wake-ups
//
// A producer that submits with BPF_RB_NO_WAKEUP never wakes a blocked reader.
// Set [Options.DrainInterval] for such producers: the consumer then also drains
// the ring on that timer. Without it, records from a no-wakeup producer are
// read only when some other submit wakes the reader.
//
// # Wake-up coalescing
//
// With the kernel's default (adaptive) wake-ups, a commit wakes the reader
// when the reader had caught up: each time the reader catches up and sleeps,
// the producer pays for its next wake-up (an irq_work on the producer's CPU
// and a wake-up of the reader's thread). A fast reader catches up often, and
// at a high rate those wake-ups slow the producer down. [Options.Coalesce]
// trades a bounded delay for them: while records arrive fast (at least 8 per
// Coalesce/2), the consumer stops arming the wake-up (it keeps the consumer
// position it publishes one record behind, so that no commit starts at it)
// and drains the ring every Coalesce/2 or less instead of sleeping in epoll.
// When the rate falls (below 4 per Coalesce/2, averaged over a few ticks) it
// publishes everything and waits in epoll again, so a quiet producer's
// records arrive at once. The bound: a record committed while the consumer
// coalesces is handed to the handler at most one tick (Coalesce/2 or less)
// plus the kernel's timer slack (50 µs by default) plus the time the
// handler takes for the records read before it in the same drain after it
// was committed; on a channel stream ([transport.Batches],
// [transport.Records]) add the receiving goroutine's wake-up. A sleep lasts
// longer than asked (the timer's expiry, the thread getting its CPU back:
// 100-350 µs on a virtual machine), so a tick asks for less: the lateness
// its recent sleeps showed, down to a quarter of the tick. A machine that
// stalls the consumer's thread for longer than that breaks the bound, as it
// delays any reader. With the consumer asleep in epoll there is no added
// delay.
// A tick that finds nothing ends the drain, so partial batches of a channel
// stream and records a Reorder stage holds are released at least once per
// tick, as after any drain. The tick also shortens so that one fills at most a quarter of
// the smallest ring; a rate at which that would take less than 50 µs is too
// fast for the ring to coalesce (the consumer keeps to epoll, where at such
// rates it mostly polls without sleeping), and a tick that half fills a ring
// ends coalescing at once. Stats.Wakeups then counts the timer's drains.
// PendingBytes shows the record held back while coalescing.
//
// Coalescing does nothing for producers that choose their own wake-ups
// (BPF_RB_NO_WAKEUP, BPF_RB_FORCE_WAKEUP): they never wake a reader for
// having caught up; and it hurts a producer that forces a wake-up once enough
// data waits (bpf_ringbuf_query): the held-back record counts as waiting, so
// nearly every record forces one. Measured with examples/bench (-coalesce),
// it raises an adaptive producer's end-to-end rate by up to about 2x for
// small samples, and at 128 and 532 bytes it can lose more samples than
// without it when the ring is small for the rate (the ring must absorb a
// tick): see BENCHMARKS.md.
package ringbuf
