// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/* perfbuf-output: build the event in a per-CPU scratch slot, copy it into a perf event array. */
#define BPFSTREAM_SCRATCH
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} pb SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct event *e = scratch_event();

	if (!e)
		return 0;
	fill_task(e);
	fill_filename(e, ctx);
	/* The kernel counts samples it cannot write; the reader reports them as lost. */
	bpf_perf_event_output(ctx, &pb, BPF_F_CURRENT_CPU, e, sizeof(*e));
	return 0;
}
