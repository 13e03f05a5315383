package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSIGINTStopsWithASummary(t *testing.T) {
	requirePrivileged(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), mainEnv+"=run ../../bpf/ringbufreservesubmit_bpfel.o -type event")
	var errOut syncBuffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	started := make(chan struct{})
	go func() { // execs until the command prints its first record
		for {
			select {
			case <-started:
				return
			case <-time.After(20 * time.Millisecond):
				execTrue()
			}
		}
	}()
	lines := bufio.NewScanner(stdout)
	ok := lines.Scan()
	close(started)
	require.True(t, ok, "no record: %s", errOut.String())
	require.True(t, strings.HasPrefix(lines.Text(), `{"pid":`), lines.Text())
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	for lines.Scan() {
	}
	require.NoError(t, cmd.Wait(), errOut.String())
	require.Regexp(t, `bpfstream: rb: \d+ records printed, \d+ received, losses not counted \(the ring's program keeps no drop counter\), 0 decode errors\n$`, errOut.String())
}
