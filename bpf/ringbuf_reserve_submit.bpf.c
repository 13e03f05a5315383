// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/* ringbuf-reserve-submit: reserve room in the ring, fill the event in place, submit it. */
#define BPFSTREAM_RINGBUF
#include "common.h"

/* No map holds a struct event here: this anchors its BTF for bpf2go -type event. */
struct event *const event_type_anchor __attribute__((unused)) = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct event *e;

	count(&attempts);
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		count(&drops); /* the ring is full: skip the work */
		return 0;
	}
	fill_task(e);
	fill_filename(e, ctx);
	bpf_ringbuf_submit(e, ringbuf_flags());
	return 0;
}
