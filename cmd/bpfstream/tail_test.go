package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

func TestTailReadsAMapPinnedByAnotherProcess(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	for _, tc := range []struct{ obj, mapName string }{
		{"../../bpf/ringbufreservesubmit_bpfel.o", "rb"},
		{"../../bpf/perfbufoutput_bpfel.o", "pb"},
	} {
		t.Run(tc.mapName, func(t *testing.T) {
			own := startOwner(t, tc.obj, tc.mapName)
			for _, arg := range []string{own.pin, fmt.Sprintf("id:%d", own.id)} {
				t.Run(strings.Replace(filepath.Base(arg), ":", "-", 1), func(t *testing.T) {
					leakcheck.Check(t)
					// No -btf: struct event is not in the BTF the owner's
					// program carries (cilium/ebpf gives the kernel only the
					// types the program's functions reach) but in its maps'.
					status, out, errOut := runWhile(t, execTrue, "tail", arg, "-type", "event", "-n", "10", "-for", "30s")
					require.Zero(t, status, errOut)
					recs := jsonLines(t, out)
					require.Len(t, recs, 10)
					seen := false
					for _, r := range recs {
						seen = seen || r["filename"] == "/bin/true"
					}
					require.True(t, seen, "no exec of /bin/true in %s", out)
					require.Contains(t, errOut, "0 decode errors")
				})
			}
		})
	}
}

func TestTailWithoutTypePrintsHex(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	leakcheck.Check(t)
	own := startOwner(t, "../../bpf/ringbufreservesubmit_bpfel.o", "rb")
	status, out, errOut := runWhile(t, execTrue, "tail", own.pin, "-o", "hex", "-n", "2", "-for", "30s")
	require.Zero(t, status, errOut)
	require.Equal(t, 2, strings.Count(out, "532 bytes:\n"), out)
	require.Contains(t, out, "00000000  ")
}

func TestTailTypeFromBTFFile(t *testing.T) {
	privileged.Require(t)
	privileged.MountTracefs(t)
	own := startOwner(t, "../../bpf/ringbufreservesubmit_bpfel.o", "rb")
	status, out, errOut := runWhile(t, execTrue, "tail", own.pin, "-btf", btfobj+"kinds.o", "-type", "small", "-for", "1s")
	require.Zero(t, status, errOut)
	require.Empty(t, out, "a 532-byte exec event is no struct small")
	require.Contains(t, errOut, "record of 532 bytes, longer than the type's 24 bytes")
	require.Contains(t, errOut, "event: sample size mismatch")
}

func TestTailSaysWhereItLookedForAMissingType(t *testing.T) {
	privileged.Require(t)
	own := startOwner(t, "../../bpf/ringbufreservesubmit_bpfel.o", "rb")
	status, out, errOut := runWhile(t, func() {}, "tail", own.pin, "-type", "no_such_struct")
	require.Equal(t, 1, status)
	require.Empty(t, out)
	require.Contains(t, errOut, `no struct "no_such_struct" in the BTF of the programs using map`)
	require.Contains(t, errOut, "structs found: ")
	require.Contains(t, errOut, "event")
}

func TestTailRefusesOtherMapTypes(t *testing.T) {
	privileged.Require(t)
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer m.Close()
	info, err := m.Info()
	require.NoError(t, err)
	id, _ := info.ID()
	status, _, errOut := runWhile(t, func() {}, "tail", fmt.Sprintf("id:%d", id))
	require.Equal(t, 1, status)
	require.Contains(t, errOut, "is a Hash: bpfstream reads ring buffers and perf event arrays only")
}
