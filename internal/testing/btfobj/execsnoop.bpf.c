// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/*
 * execsnoop, as libbpf tools write it: the event ends in an area for the
 * arguments, and only the bytes of it that are used are sent, on a ring
 * buffer.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "syscall_tp.h"

#define ARGSIZE 128
#define TOTAL_MAX_ARGS 16
#define FULL_MAX_ARGS_ARR (TOTAL_MAX_ARGS * ARGSIZE)
#define LAST_ARG (FULL_MAX_ARGS_ARR - ARGSIZE)

struct exec_event {
	__u32 pid;
	__u32 uid;
	int args_count;
	unsigned int args_size;
	char comm[TASK_COMM_LEN];
	char args[FULL_MAX_ARGS_ARR]; /* NUL-separated; args_size bytes sent */
};

/* Set before load (bpfstream run -set targ_uid=N): only this user. */
const volatile __u32 targ_uid = (__u32)-1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The event is too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} heap SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int trace_execve(struct trace_event_raw_sys_enter *ctx)
{
	const char **argv = (const char **)ctx->args[1];
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct exec_event *e;
	__u32 zero = 0;
	const char *arg;
	unsigned int size;
	long n;
	int i;

	if (targ_uid != (__u32)-1 && targ_uid != uid)
		return 0;
	e = bpf_map_lookup_elem(&heap, &zero);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = uid;
	e->args_count = 0;
	e->args_size = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	for (i = 0; i < TOTAL_MAX_ARGS; i++) {
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
		size = e->args_size;
		if (size > LAST_ARG)
			break;
		n = bpf_probe_read_user_str(&e->args[size], ARGSIZE, arg);
		if (n <= 0)
			break;
		e->args_count++;
		e->args_size += n;
	}
	size = e->args_size;
	if (size > FULL_MAX_ARGS_ARR)
		size = FULL_MAX_ARGS_ARR;
	bpf_ringbuf_output(&events, e, sizeof(*e) - FULL_MAX_ARGS_ARR + size, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
