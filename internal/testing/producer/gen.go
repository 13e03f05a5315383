package producer

// The object is compiled for little-endian targets only (bpfel). The -I flags
// name the multiarch directories holding <asm/types.h> on Debian; clang
// ignores the ones that do not exist. -mcpu=v3 is needed for the atomic
// fetch-and-add whose result becomes the sample's sequence number.
//
//go:generate go tool bpf2go -tags linux -target bpfel -type sample_hdr producer producer.bpf.c -- -mcpu=v3 -Wall -Werror -I../../wakeup -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu
