package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

const btfobj = "../../internal/testing/btfobj/"

func execTrue() { _ = exec.Command("/bin/true").Run() }

func TestRunPrintsExecEventsOfTheReferenceObjects(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	for _, obj := range []string{"perfbufoutput", "ringbufoutput", "ringbufreservesubmit"} {
		t.Run(obj, func(t *testing.T) {
			leakcheck.Check(t)
			status, out, errOut := runWhile(t, execTrue, "run", "../../bpf/"+obj+"_bpfel.o", "-type", "event", "-n", "20", "-for", "30s")
			require.Zero(t, status, errOut)
			recs := jsonLines(t, out)
			require.Len(t, recs, 20)
			seen := false
			for _, r := range recs {
				require.Greater(t, r["pid"], 0.0)
				if r["filename"] == "/bin/true" {
					seen = true
					require.Equal(t, "true", r["comm"])
				}
				_, hasCPU := r["cpu"]
				require.Equal(t, obj == "perfbufoutput", hasCPU, "only perf records carry their CPU")
			}
			require.True(t, seen, "no exec of /bin/true in %s", out)
			require.Contains(t, errOut, "20 records printed, 20 received", "-n consumes no record it does not print")
			require.Contains(t, errOut, "0 decode errors")
		})
	}
}

func TestRunOpenSnoopOnAPerfArrayFiltersByConstant(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	leakcheck.Check(t)
	path := filepath.Join(t.TempDir(), "opened-by-the-test")
	open := func() {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err == nil {
			f.Close()
		}
	}
	pid := os.Getpid()
	status, out, errOut := runWhile(t, open, "run", btfobj+"opensnoop.o", "-type", "open_event",
		"-set", fmt.Sprintf("targ_pid=%d", pid), "-n", "5", "-for", "30s")
	require.Zero(t, status, errOut)
	recs := jsonLines(t, out)
	require.Len(t, recs, 5)
	seen := false
	for _, r := range recs {
		require.Equal(t, float64(pid), r["pid"], "-set targ_pid filters in the kernel")
		require.Contains(t, r, "cpu")
		if r["fname"] == path {
			seen = true
			require.Equal(t, "ACCESS_WRITE", r["access"])
			require.Equal(t, 1.0, r["create"])
			require.Equal(t, 1.0, r["trunc"])
		}
	}
	require.True(t, seen, "no open of %s in %s", path, out)
}

func TestRunExecSnoopDecodesTheUsedPartOfTheArgumentArea(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	leakcheck.Check(t)
	arg := "an-argument-the-test-passes"
	echo := func() { _ = exec.Command("/bin/echo", arg).Run() }
	status, out, errOut := runWhile(t, echo, "run", btfobj+"execsnoop.o", "-type", "exec_event", "-set", "targ_uid=0", "-n", "20", "-for", "30s")
	require.Zero(t, status, errOut)
	seen := false
	for _, r := range jsonLines(t, out) {
		require.Equal(t, 0.0, r["uid"])
		if r["args"] == "/bin/echo" {
			seen = true
			require.Equal(t, 2.0, r["args_count"])
			require.Equal(t, float64(len("/bin/echo")+1+len(arg)+1), r["args_size"])
		}
	}
	require.True(t, seen, "no exec of /bin/echo in %s", out)
	require.Contains(t, errOut, "0 decode errors", "records shorter than struct exec_event decode")

	// The same records in hex show that they are shorter than the type.
	status, out, errOut = runWhile(t, echo, "run", btfobj+"execsnoop.o", "-o", "hex", "-n", "3", "-for", "30s")
	require.Zero(t, status, errOut)
	require.Equal(t, 3, strings.Count(out, " bytes:\n"))
	require.NotContains(t, out, "2080 bytes:", "the program sends the used bytes only")
}

func TestRunTextOutputAlignsColumnsUnderAHeader(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	status, out, errOut := runWhile(t, execTrue, "run", "../../bpf/ringbufreservesubmit_bpfel.o", "-o", "text", "-type", "event", "-n", "2", "-for", "30s")
	require.Zero(t, status, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, "pid        comm             filename", lines[0])
	require.Equal(t, strings.Index(lines[0], "comm"), strings.Index(lines[1], " ")+strings.IndexFunc(lines[1][strings.Index(lines[1], " "):], func(r rune) bool { return r != ' ' }))
}
