/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Ring buffer wake-up policy shared by bpfstream's BPF programs (the reference
 * exec programs and the test producer). Include it after defining the ring
 * buffer map `rb`. The loader sets both variables before load (package
 * internal/wakeup, Policy.Vars); frozen read-only data makes them constants to
 * the verifier.
 */
#ifndef BPFSTREAM_WAKEUP_H
#define BPFSTREAM_WAKEUP_H

/* 0 (adaptive), BPF_RB_NO_WAKEUP or BPF_RB_FORCE_WAKEUP. */
const volatile __u64 wakeup_flags = 0;
/* When not 0: force a wake-up once this many bytes wait, else none (the policy of the kernel's ringbuf benchmark). */
const volatile __u64 wakeup_bytes = 0;

static __always_inline __u64 ringbuf_flags(void)
{
	if (wakeup_bytes != 0)
		return bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP :
										   BPF_RB_NO_WAKEUP;
	return wakeup_flags;
}

#endif /* BPFSTREAM_WAKEUP_H */
