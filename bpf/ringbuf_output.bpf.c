// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/* ringbuf-output: build the event in a per-CPU scratch slot, copy it into a ring buffer. */
#define BPFSTREAM_RINGBUF
#define BPFSTREAM_SCRATCH
#include "common.h"

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct event *e;

	count(&attempts);
	e = scratch_event();
	if (!e) {
		count(&drops);
		return 0;
	}
	fill_task(e);
	fill_filename(e, ctx);
	if (bpf_ringbuf_output(&rb, e, sizeof(*e), ringbuf_flags()) < 0)
		count(&drops);
	return 0;
}
