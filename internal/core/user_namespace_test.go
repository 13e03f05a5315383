package core

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/transport"
)

// envUserNSChild marks the copy of the test binary that runs in a user
// namespace.
const envUserNSChild = "BPFSTREAM_USERNS_CHILD"

// TestPermissionInUserNamespace runs this test again in a new user
// namespace, where the process holds every capability but the kernel's BPF
// checks (made in the initial namespace) refuse it. The permission error
// must say so; before, it said the process held CAP_BPF, "so something else
// denied it".
func TestPermissionInUserNamespace(t *testing.T) {
	if os.Getenv(envUserNSChild) == "1" {
		userNSChild(t)
		return
	}
	privileged.Require(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPermissionInUserNamespace$", "-test.v")
	cmd.Env = append(os.Environ(), envUserNSChild+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("the child in a user namespace failed: %v", err)
	}
}

func userNSChild(t *testing.T) {
	if m, err := os.ReadFile("/proc/self/uid_map"); err != nil || strings.Fields(string(m))[2] != "1" {
		t.Fatalf("the child should map one user ID: %q, %v", m, err)
	}
	if set, ok := effective(); !ok || !capBPF.heldIn(set, os.Geteuid()) {
		t.Fatalf("the child should hold CAP_BPF in its namespace: %#x", set)
	}
	_, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if !errors.Is(err, unix.EPERM) {
		// Unprivileged BPF is allowed here (kernel.unprivileged_bpf_disabled
		// is 0): explain the refusal of a perf event the kernel would make.
		err = fmt.Errorf("create map: %w", unix.EPERM)
	}
	err = WrapPermission(err, CapBPF)
	t.Log(err)
	msg := err.Error()
	if !errors.Is(err, transport.ErrPermission) || !errors.Is(err, unix.EPERM) {
		t.Errorf("%v: want ErrPermission and EPERM", err)
	}
	for _, want := range []string{"user namespace", "CAP_BPF", "initial user namespace"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "MEMLOCK") {
		t.Errorf("%q: a MEMLOCK hint after the capability message", msg)
	}
	if strings.Count(msg, transport.ErrPermission.Error()) != 1 || !strings.HasSuffix(msg, ": "+transport.ErrPermission.Error()) {
		t.Errorf("%q: want the sentinel once, at the end", msg)
	}
}
