// Package privileged helps tests that need real BPF: Require skips a test
// when the process cannot load BPF programs, or fails it when the environment
// demands privileged tests (BPFSTREAM_REQUIRE_PRIVILEGED=1, as in CI).
package privileged

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/rlimit"

	"github.com/bpfstream/bpfstream/internal/tracefs"
)

// EnvRequire is the environment variable that turns skips into failures when
// set to "1".
const EnvRequire = "BPFSTREAM_REQUIRE_PRIVILEGED"

var (
	probeOnce sync.Once
	probeErr  error
)

// probe loads a trivial socket filter once per process; it needs CAP_BPF (or
// CAP_SYS_ADMIN) and a kernel with BPF enabled.
func probe() error {
	probeOnce.Do(func() {
		_ = rlimit.RemoveMemlock()
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Type: ebpf.SocketFilter,
			Instructions: asm.Instructions{
				asm.Mov.Imm(asm.R0, 0),
				asm.Return(),
			},
			License: "GPL",
		})
		if err != nil {
			probeErr = fmt.Errorf("cannot load a trivial BPF program (euid %d; needs root or CAP_BPF+CAP_PERFMON): %w", os.Geteuid(), err)
			return
		}
		prog.Close()
	})
	return probeErr
}

// Available reports why the process cannot load BPF programs, or nil when it
// can.
func Available() error { return probe() }

// Require skips tb when the process cannot load BPF programs, naming the
// reason, unless BPFSTREAM_REQUIRE_PRIVILEGED=1, in which case it fails tb.
func Require(tb testing.TB) {
	tb.Helper()
	if err := probe(); err != nil {
		skipOrFail(tb, err)
	}
}

// MountTracefs makes sure tracefs is mounted (mounting it at
// /sys/kernel/tracing if needed), skipping or failing tb like Require when
// that is impossible. It calls Require first.
func MountTracefs(tb testing.TB) {
	tb.Helper()
	Require(tb)
	if _, err := tracefs.Ensure(); err != nil {
		skipOrFail(tb, err)
	}
}

func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("privileged test required (%s=1): %v", EnvRequire, err)
		return
	}
	var skip = "skipping privileged test: " + err.Error()
	if errors.Is(err, os.ErrPermission) {
		skip += " (run as root)"
	}
	tb.Skip(skip)
}
