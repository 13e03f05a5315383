// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//go:build ignore

/*
 * In-kernel test producer for bpfstream.
 *
 * Socket-filter programs meant to be run with BPF_PROG_TEST_RUN and a repeat
 * count: every invocation emits one sample of sample_size bytes into a ring
 * buffer or a perf event array. A sample starts with struct sample_hdr; the
 * payload after it has unspecified contents.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define HDR_SIZE 24
#define MAX_SAMPLE 4096

struct sample_hdr {
	__u64 seq;
	__u64 ktime_ns;
	__u32 cpu;
	__u32 size;
};

/* Set by the loader before load; frozen, so the verifier sees constants. */
const volatile __u32 sample_size = HDR_SIZE;
/*
 * When above sample_size, samples vary in size: the sample with sequence
 * number seq has sample_size + seq % (max_sample_size - sample_size + 1)
 * bytes, and its payload byte i (counted from the end of the header) is
 * (__u8)(seq + i), so a reader can check every byte of a variable tail.
 * Only for bpf_ringbuf_output and bpf_perf_event_output: bpf_ringbuf_reserve
 * takes a constant size.
 */
const volatile __u32 max_sample_size = 0;

/* Samples attempted by all programs and CPUs (delivered + dropped). */
__u64 seq_counter = 0;

#define MAX_CPUS 1024

/*
 * Samples each CPU may still emit, set by the loader before each test run.
 * The kernel restarts an interrupted BPF_PROG_TEST_RUN from the beginning
 * (cilium/ebpf retries on EINTR), so without a budget a run of n could emit
 * more than n samples; with it, the restarted runs find it spent. An array
 * indexed by CPU, not a per-CPU map, so that runs on different CPUs set their
 * own slot without racing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_CPUS);
	__type(key, __u32);
	__type(value, __u64);
} budget SEC(".maps");

/* spend takes one sample from this CPU's budget; 0 when it is spent. */
static __always_inline int spend(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 *left = bpf_map_lookup_elem(&budget, &cpu);

	if (!left || *left == 0)
		return 0;
	*left -= 1; /* one runner per CPU at a time: no race */
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Referencing sample_hdr from a map value also puts it in BTF for bpf2go. */
struct scratch_buf {
	struct sample_hdr hdr;
	__u8 payload[MAX_SAMPLE - HDR_SIZE];
};

_Static_assert(sizeof(struct sample_hdr) == HDR_SIZE, "sample_hdr size");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} scratch SEC(".maps");

static __always_inline __u32 size_of_sample(void)
{
	__u32 sz = sample_size;

	if (sz < HDR_SIZE)
		sz = HDR_SIZE;
	if (sz > MAX_SAMPLE)
		sz = MAX_SAMPLE;
	return sz;
}

static __always_inline void count_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		*n += 1; /* per-CPU slot, and test runs disable migration */
}

#include "wakeup.h"

static __always_inline void fill_hdr(struct sample_hdr *h, __u64 seq, __u32 sz)
{
	h->seq = seq;
	h->ktime_ns = bpf_ktime_get_ns();
	h->cpu = bpf_get_smp_processor_id();
	h->size = sz;
}

/*
 * A sample that cannot even be built still takes a sequence number, so that
 * seq_counter stays the number attempted: delivered + dropped.
 */
static __always_inline void drop_unbuilt(void)
{
	__sync_fetch_and_add(&seq_counter, 1);
	count_drop();
}

/* var_size is the size of the variable-size sample seq (see max_sample_size). */
static __always_inline __u32 var_size(__u64 seq)
{
	__u32 lo = size_of_sample();
	__u32 hi = max_sample_size;
	__u32 sz;

	if (hi > MAX_SAMPLE)
		hi = MAX_SAMPLE;
	if (hi <= lo)
		return lo;
	sz = lo + (__u32)(seq % (hi - lo + 1));
	return sz > MAX_SAMPLE ? MAX_SAMPLE : sz;
}

/* fill_payload writes the pattern of a variable-size sample after the header. */
static __always_inline void fill_payload(struct scratch_buf *buf, __u64 seq, __u32 sz)
{
	__u32 n = sz - HDR_SIZE;

#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < MAX_SAMPLE - HDR_SIZE; i++) {
		if (i >= n)
			break;
		buf->payload[i] = (__u8)(seq + i);
	}
}

/*
 * build fills this CPU's scratch slot with a sample and stores its size in
 * *sz; NULL (a counted drop) without a slot.
 */
static __always_inline struct scratch_buf *build(__u32 *sz)
{
	__u32 zero = 0;
	struct scratch_buf *buf = bpf_map_lookup_elem(&scratch, &zero);
	__u64 seq;

	if (!buf) {
		drop_unbuilt();
		return NULL;
	}
	seq = __sync_fetch_and_add(&seq_counter, 1);
	if (max_sample_size > sample_size) {
		*sz = var_size(seq);
		fill_payload(buf, seq, *sz);
	} else {
		*sz = size_of_sample();
	}
	fill_hdr(&buf->hdr, seq, *sz);
	return buf;
}

/*
 * next_sample spends one sample of this CPU's budget and builds it in the
 * scratch slot; NULL when the budget is spent or the sample was not built.
 */
static __always_inline struct scratch_buf *next_sample(__u32 *sz)
{
	struct scratch_buf *buf;

	if (!spend())
		return NULL;
	buf = build(sz);
	if (!buf || *sz > MAX_SAMPLE) /* for the verifier: build never exceeds it */
		return NULL;
	return buf;
}

SEC("socket")
int emit_ringbuf_output(struct __sk_buff *skb)
{
	__u32 sz;
	struct scratch_buf *buf = next_sample(&sz);

	if (!buf)
		return 0;
	if (bpf_ringbuf_output(&rb, buf, sz, ringbuf_flags()) < 0)
		count_drop();
	return 0;
}

SEC("socket")
int emit_ringbuf_reserve(struct __sk_buff *skb)
{
	__u32 sz = size_of_sample();
	struct sample_hdr *h;

	if (!spend())
		return 0;
	h = bpf_ringbuf_reserve(&rb, sz, 0);
	if (!h) {
		drop_unbuilt();
		return 0;
	}
	fill_hdr(h, __sync_fetch_and_add(&seq_counter, 1), sz);
	bpf_ringbuf_submit(h, ringbuf_flags());
	return 0;
}

SEC("socket")
int emit_perf(struct __sk_buff *skb)
{
	__u32 sz;
	struct scratch_buf *buf = next_sample(&sz);

	if (!buf)
		return 0;
	/*
	 * For skb programs the upper 32 bits of flags ask the helper to append
	 * that many bytes of the packet, so BPF_F_CURRENT_CPU must be passed as
	 * the 32-bit value 0xffffffff, not as a sign-extended 64-bit -1.
	 */
	if (bpf_perf_event_output(skb, &pb, 0xffffffffULL, buf, sz) < 0)
		count_drop();
	return 0;
}

/*
 * Several ring buffers behind one program, as an agent with a ring per CPU
 * (or per event class) has them: the loader creates the rings and puts them
 * in `rings` (max_entries set before load). Sample seq goes to ring
 * seq % busy_rings, so busy_rings = 1 keeps only ring 0 busy and busy_rings =
 * the number of rings spreads the samples over all of them.
 */
struct ring_inner {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct ring_inner);
} rings SEC(".maps");

const volatile __u32 busy_rings = 1;

SEC("socket")
int emit_rings_output(struct __sk_buff *skb)
{
	__u32 sz, idx;
	struct scratch_buf *buf = next_sample(&sz);
	void *ring;

	if (!buf)
		return 0;
	idx = busy_rings > 1 ? (__u32)(buf->hdr.seq % busy_rings) : 0;
	ring = bpf_map_lookup_elem(&rings, &idx);
	if (!ring) {
		count_drop();
		return 0;
	}
	/* wakeup_flags only: the bytes policy queries `rb` (see wakeup.h). */
	if (bpf_ringbuf_output(ring, buf, sz, wakeup_flags) < 0)
		count_drop();
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
