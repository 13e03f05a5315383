/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The context of the tp/syscalls/sys_enter_* tracepoints, without vmlinux.h. */
#ifndef BTFOBJ_SYSCALL_TP_H
#define BTFOBJ_SYSCALL_TP_H

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

#define TASK_COMM_LEN 16

#endif
