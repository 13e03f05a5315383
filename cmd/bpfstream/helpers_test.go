package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// syncBuffer is a bytes.Buffer for stdout and stderr, which the command
// writes from more than one goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runWhile runs the command with args while trigger runs every 20ms,
// until the command returns; it returns the exit status, stdout and
// stderr.
func runWhile(t *testing.T, trigger func(), args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() { done <- Main(args, &stdout, &stderr) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case status := <-done:
			return status, stdout.String(), stderr.String()
		case <-tick.C:
			trigger()
		}
	}
}

// jsonLines parses every line of out as a JSON object.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		recs = append(recs, m)
	}
	return recs
}

// requirePrivileged skips (or fails, in CI) without BPF privileges, and
// mounts tracefs.
func requirePrivileged(t *testing.T) {
	t.Helper()
	privileged.Require(t)
	privileged.MountTracefs(t)
}
