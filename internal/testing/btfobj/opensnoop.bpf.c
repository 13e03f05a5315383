// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/*
 * opensnoop, as libbpf tools write it: one fixed-size event per openat(2)
 * on a perf event array, filtered by a .rodata constant.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include "syscall_tp.h"

#define NAME_MAX 128
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000

enum access { ACCESS_READ, ACCESS_WRITE, ACCESS_RDWR };

struct open_event {
	__u64 ts;
	__u32 pid;
	__u32 uid;
	int flags;
	enum access access;
	unsigned int create : 1, trunc : 1;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

/* Set before load (bpfstream run -set targ_pid=N): only this process. */
const volatile __u32 targ_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct open_event *const open_event_anchor __attribute__((unused)) = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct open_event e = {};
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	int flags = (int)ctx->args[2];

	if (targ_pid && targ_pid != pid)
		return 0;
	e.ts = bpf_ktime_get_ns();
	e.pid = pid;
	e.uid = (__u32)bpf_get_current_uid_gid();
	e.flags = flags;
	e.access = (flags & O_RDWR) ? ACCESS_RDWR : (flags & O_WRONLY) ? ACCESS_WRITE : ACCESS_READ;
	e.create = !!(flags & O_CREAT);
	e.trunc = !!(flags & O_TRUNC);
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	bpf_probe_read_user_str(&e.fname, sizeof(e.fname), (const char *)ctx->args[1]);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
