// Package ringbuf reads BPF ring buffers (BPF_MAP_TYPE_RINGBUF) as a
// bpfstream Consumer.
//
// A ring buffer is one multi-producer, single-consumer ring shared by all
// CPUs (Linux 5.8+). Records arrive in the order producers committed them and
// carry CPU -1 (transport.NoCPU).
//
// # Losses
//
// The kernel does not count samples it could not fit in a full ring: a failed
// bpf_ringbuf_reserve returns NULL and a failed bpf_ringbuf_output returns an
// error, and that is all. To make losses visible, count them in the BPF
// program and name the counter in Options.DropCounter; Stats.Lost then reports
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
// Set Options.DrainInterval for such producers: the consumer then also drains
// the ring on that timer. Without it, records from a no-wakeup producer are
// read only when some other submit wakes the reader.
package ringbuf
