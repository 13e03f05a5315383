package bpf

// The objects are compiled for little-endian targets only (bpfel) and
// committed; CI regenerates them and fails on a diff. The -I flags name the
// multiarch directories holding <asm/types.h> on Debian; clang ignores the
// ones that do not exist.
//
//go:generate go tool bpf2go -tags linux -target bpfel -type event perfbufOutput perfbuf_output.bpf.c -- -Wall -Werror -I../internal/wakeup -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
//go:generate go tool bpf2go -tags linux -target bpfel -type event ringbufOutput ringbuf_output.bpf.c -- -Wall -Werror -I../internal/wakeup -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
//go:generate go tool bpf2go -tags linux -target bpfel -type event ringbufReserveSubmit ringbuf_reserve_submit.bpf.c -- -Wall -Werror -I../internal/wakeup -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
