// Package btfobj holds BPF objects compiled from the C sources beside it
// for the tests of the BTF decoder and the bpfstream command: kinds.o (types
// only: a struct with every kind of member, small, flexible and sized
// events), opensnoop.o (an openat tracer writing a fixed-size event to a
// perf event array) and execsnoop.o (an exec tracer writing an event that
// ends in a variable-length argument area to a ring buffer, as libbpf tools
// do). They are built as libbpf would build them, with clang and without
// bpf2go, and committed; CI regenerates them and fails on a diff.
package btfobj

//go:generate clang -O2 -g -fdebug-compilation-dir=. -Wall -Werror -target bpfel -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu -c kinds.bpf.c -o kinds.o
//go:generate llvm-strip -g kinds.o
//go:generate clang -O2 -g -fdebug-compilation-dir=. -Wall -Werror -target bpfel -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu -c opensnoop.bpf.c -o opensnoop.o
//go:generate llvm-strip -g opensnoop.o
//go:generate clang -O2 -g -fdebug-compilation-dir=. -Wall -Werror -target bpfel -I/usr/include/x86_64-linux-gnu -I/usr/include/aarch64-linux-gnu -c execsnoop.bpf.c -o execsnoop.o
//go:generate llvm-strip -g execsnoop.o
