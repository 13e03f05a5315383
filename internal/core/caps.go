package core

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// capability is one thing an operation needs, held when any of its bits is
// in the effective set (or, for file access, when the process runs as root,
// the owner of tracefs).
type capability struct {
	name string // what messages call it
	bits []int  // any of these grants it
	root bool   // euid 0 grants it too
}

var (
	capBPF     = capability{"CAP_BPF (or CAP_SYS_ADMIN)", []int{unix.CAP_BPF, unix.CAP_SYS_ADMIN}, false}
	capPerfmon = capability{"CAP_PERFMON (or CAP_SYS_ADMIN)", []int{unix.CAP_PERFMON, unix.CAP_SYS_ADMIN}, false}
	// tracefs is mode 0700, owned by root: reading it needs the owner or
	// a capability that overrides read and search permissions.
	capTracefs = capability{"CAP_DAC_READ_SEARCH (read access to tracefs; or CAP_DAC_OVERRIDE, or uid 0)", []int{unix.CAP_DAC_READ_SEARCH, unix.CAP_DAC_OVERRIDE}, true}
)

// Need is the set of capabilities an operation needs, all of them.
type Need []capability

// What the operations of bpfstream need, for WrapPermission.
var (
	// CapBPF: creating maps and loading socket filters and other
	// non-tracing programs.
	CapBPF = Need{capBPF}
	// CapPerfmon: opening system-wide perf events (perf buffers).
	CapPerfmon = Need{capPerfmon}
	// CapTracing: loading tracing programs (tracepoints, kprobes).
	CapTracing = Need{capBPF, capPerfmon}
	// CapAttach: attaching a tracepoint, whose ID is read from tracefs.
	CapAttach = Need{capPerfmon, capTracefs}
)

// effective returns the process's effective capability set, ok false when
// it cannot be read.
func effective() (set uint64, ok bool) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, false
	}
	return uint64(data[1].Effective)<<32 | uint64(data[0].Effective), true
}

func (c capability) heldIn(set uint64, euid int) bool {
	if c.root && euid == 0 {
		return true
	}
	for _, b := range c.bits {
		if set&(1<<b) != 0 {
			return true
		}
	}
	return false
}

// explain names what of n the process lacks.
func (n Need) explain() string {
	set, ok := effective()
	euid := os.Geteuid()
	var missing, held []string
	for _, c := range n {
		if ok && c.heldIn(set, euid) {
			held = append(held, c.name)
		} else {
			missing = append(missing, c.name)
		}
	}
	switch {
	case !ok:
		return "needs " + strings.Join(missing, " and ")
	case len(missing) > 0:
		return "missing " + strings.Join(missing, " and ")
	}
	return "holds " + strings.Join(held, " and ") +
		", so something else denied it: a sysctl such as kernel.perf_event_paranoid or kernel.unprivileged_bpf_disabled, a security module, or file permissions"
}
