package core

import (
	"os"
	"strconv"
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

// explain says what of n the process lacks, and what to do.
func (n Need) explain() string {
	if ns, ok := childUserNamespace(); ok {
		return "the process runs in a user namespace (uid_map " + ns + "): BPF checks " + strings.Join(n.names(), " and ") +
			" in the initial user namespace, and capabilities held in another one do not count; run it outside the user namespace (a container without a user namespace of its own) with them"
	}
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
	what := "it"
	if len(missing) > 1 {
		what = "them"
	}
	switch {
	case !ok:
		return "it needs " + strings.Join(missing, " and ") + "; grant " + what + " or run as root"
	case len(missing) > 0:
		return "missing " + strings.Join(missing, " and ") + "; grant " + what + " or run as root"
	}
	return "the process holds " + strings.Join(held, " and ") +
		", so something else denied it: a sysctl such as kernel.perf_event_paranoid or kernel.unprivileged_bpf_disabled, a security module, file permissions, or RLIMIT_MEMLOCK on kernels before 5.11 (rlimit.RemoveMemlock)"
}

func (n Need) names() []string {
	names := make([]string, len(n))
	for i, c := range n {
		names[i] = c.name
	}
	return names
}

// uidMapPath is where the kernel shows how the process's user namespace
// maps user IDs.
var uidMapPath = "/proc/self/uid_map"

// childUserNamespace reports whether the process runs in a user namespace
// other than the initial one, whose uid_map maps every ID to itself (as
// "0 0 4294967295"), and returns that map. Capabilities held there are
// worthless to BPF, which checks them in the initial namespace.
func childUserNamespace() (uidMap string, ok bool) {
	b, err := os.ReadFile(uidMapPath)
	if err != nil {
		return "", false
	}
	uidMap = strings.Join(strings.Fields(string(b)), " ")
	return strconv.Quote(uidMap), uidMap != "0 0 4294967295"
}
