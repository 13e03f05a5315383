/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared by the three reference exec programs of bpfstream: the event they
 * emit, the tracepoint context they read, and the ring buffer helpers (drop
 * and attempt counters, wake-up policy) of the two ringbuf programs.
 */
#ifndef BPFSTREAM_COMMON_H
#define BPFSTREAM_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 512

/* The sample every program emits. event.Exec in Go mirrors it. */
struct event {
	int pid;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN];
};

/*
 * Context of tp/sched/sched_process_exec, as in
 * /sys/kernel/tracing/events/sched/sched_process_exec/format. Just this struct
 * instead of a multi-megabyte vmlinux.h; preserve_access_index lets the loader
 * relocate the field offsets against the running kernel's BTF.
 */
struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_sched_process_exec {
	struct trace_entry ent;
	unsigned int __data_loc_filename; /* offset from ctx in the low 16 bits */
	int pid;
	int old_pid;
	char __data[0];
} __attribute__((preserve_access_index));

/* Fills everything but the filename. */
static __always_inline void fill_task(struct event *e)
{
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

static __always_inline void fill_filename(struct event *e, struct trace_event_raw_sched_process_exec *ctx)
{
	unsigned int off = ctx->__data_loc_filename & 0xFFFF;

	bpf_probe_read_str(&e->filename, sizeof(e->filename), (void *)ctx + off);
}

#ifdef BPFSTREAM_RINGBUF

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/* Failed bpf_ringbuf_output / bpf_ringbuf_reserve calls (the kernel counts none). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* Program runs, each one an attempt to emit one event: attempts == delivered + drops. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} attempts SEC(".maps");

/*
 * Per-CPU slots, but a tracepoint program may be preempted by another run of
 * itself on the same CPU, so the increment is atomic.
 */
static __always_inline void count(void *map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(map, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

#include "wakeup.h"

#endif /* BPFSTREAM_RINGBUF */

#ifdef BPFSTREAM_SCRATCH
/* struct event is too big for the 512-byte BPF stack: build it here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} heap SEC(".maps");

static __always_inline struct event *scratch_event(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&heap, &zero);
}
#endif /* BPFSTREAM_SCRATCH */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#endif /* BPFSTREAM_COMMON_H */
