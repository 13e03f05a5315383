package main

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// loadTrivial loads a program that returns 0, of the type a section needs.
func loadTrivial(t *testing.T, spec ebpf.ProgramSpec) *ebpf.Program {
	t.Helper()
	spec.Instructions = asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	spec.License = "GPL"
	p, err := ebpf.NewProgram(&spec)
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel cannot load %s programs: %v", spec.Type, err)
	}
	fentry := spec.AttachType == ebpf.AttachTraceFEntry || spec.AttachType == ebpf.AttachTraceFExit
	if fentry && errors.Is(err, unix.EPERM) && os.Geteuid() == 0 {
		// As root, with tp_btf programs loading: the kernel has no BPF
		// trampolines (it is built without function tracing).
		t.Skipf("this kernel cannot load %s programs: %v", spec.AttachType, err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

func TestAttachBySectionName(t *testing.T) {
	requirePrivileged(t)
	for _, tc := range []struct {
		section string
		spec    ebpf.ProgramSpec
	}{
		{"tracepoint/syscalls/sys_enter_getpid", ebpf.ProgramSpec{Type: ebpf.TracePoint}},
		{"tp/sched/sched_process_exec", ebpf.ProgramSpec{Type: ebpf.TracePoint}},
		{"raw_tracepoint/sys_enter", ebpf.ProgramSpec{Type: ebpf.RawTracepoint}},
		{"raw_tp/sched_switch", ebpf.ProgramSpec{Type: ebpf.RawTracepoint}},
		{"tp_btf/sched_process_exec", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sched_process_exec"}},
		{"fentry/do_sys_openat2", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "do_sys_openat2"}},
		{"fexit/do_sys_openat2", ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFExit, AttachTo: "do_sys_openat2"}},
		{"kprobe/do_sys_openat2", ebpf.ProgramSpec{Type: ebpf.Kprobe}},
		{"kretprobe/do_sys_openat2", ebpf.ProgramSpec{Type: ebpf.Kprobe}},
	} {
		t.Run(tc.section, func(t *testing.T) {
			p := loadTrivial(t, tc.spec)
			l, err := attach(tc.section, p)
			if tc.spec.Type == ebpf.Kprobe && (errors.Is(err, os.ErrNotExist) || errors.Is(err, ebpf.ErrNotSupported)) {
				t.Skipf("this kernel has no kprobes: %v", err)
			}
			require.NoError(t, err)
			require.NoError(t, l.Close())
		})
	}
}

func TestAttachRefusesUnknownSections(t *testing.T) {
	_, err := attach("xdp", nil)
	require.ErrorIs(t, err, errNotAttachable)
	_, err = attach("tracepoint/no_group", nil)
	require.ErrorContains(t, err, "want tracepoint/GROUP/NAME")
}
