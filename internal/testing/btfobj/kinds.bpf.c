// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause

//go:build ignore

/*
 * Types only, no program: a struct holding every kind of member the BTF
 * decoder writes, compiled so that its BTF is what clang emits.
 */
#include <linux/types.h>
#include <stdbool.h>

enum color { RED, GREEN, BLUE = 7 };
enum delta { DOWN = -1, SAME = 0, UP = 1 };

struct addr {
	__u16 port;
	__u8 ip[4];
};

typedef const volatile __u32 qualified_u32;

struct kinds {
	__s8 i8;
	__u8 u8;
	__s16 i16;
	__u16 u16;
	__s32 i32;
	__u32 u32;
	__s64 i64;
	__u64 u64;
	bool ok;
	enum color color;
	enum delta delta;
	char name[8];
	struct addr addrs[2];
	union {
		__u32 word;
		__u8 bytes[4];
	} u;
	union {
		__u32 anon_a;
		__s32 anon_b;
	};
	unsigned int flag : 1, level : 3;
	int neg : 4;
	enum color shade : 4;
	void *ptr;
	float f32;
	double f64;
	qualified_u32 q;
	char words[2][4];
	char tail[6];
};

/* A 24-byte event, the size of a small fixed-size record. */
struct small {
	__u64 ts;
	__u32 pid;
	__u32 tid;
	__s32 ret;
	__u16 cpu;
	__u8 kind;
	bool ok;
};

/* An event ending in a flexible array member. */
struct flex {
	__u32 len;
	__u32 pad;
	char data[];
};

/* An event whose variable area's length is a member. */
struct sized {
	__u16 len;
	__u16 kind;
	__u8 data[12];
};

struct kinds *const kinds_anchor __attribute__((unused)) = 0;
struct small *const small_anchor __attribute__((unused)) = 0;
struct flex *const flex_anchor __attribute__((unused)) = 0;
struct sized *const sized_anchor __attribute__((unused)) = 0;
