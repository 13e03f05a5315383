package examples_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// TestExampleKnobs runs the examples with buffer and wake-up flags: events
// still arrive, and the buffer size shows in the metrics.
func TestExampleKnobs(t *testing.T) {
	privileged.MountTracefs(t)
	page := os.Getpagesize()
	possible, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bin  string
		args []string
		// bufferBytes is the expected bpfstream_buffer_bytes; for perfbuf,
		// per CPU.
		bufferBytes int
		perCPU      bool
	}{
		{"ringbuf-output", []string{"-ring-size", "8K"}, 8 << 10, false},
		{"ringbuf-reserve-submit", []string{"-ring-size", "4K"}, 4 << 10, false},
		{"ringbuf-reserve-submit", []string{"-wakeup", "never", "-drain-interval", "50ms"}, 256 << 10, false},
		{"execsnoop", []string{"-transport", "ringbuf-output", "-wakeup", "bytes", "-wakeup-bytes", "2K"}, 256 << 10, false},
		{"perfbuf-output", []string{"-perf-buffer", "8K", "-wakeup-events", "2", "-drain-interval", "50ms"}, 8 << 10, true},
	} {
		t.Run(tc.bin+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			if tc.bufferBytes < page {
				t.Skipf("a %d-byte buffer is below the page size %d", tc.bufferBytes, page)
			}
			r := start(t, tc.bin, append(tc.args, "-metrics", "127.0.0.1:0")...)
			r.execUntil(uniqueBinary(t), 3)
			got, _ := metric(t, r.scrape(), "bpfstream_buffer_bytes")
			switch b := int(got); {
			case !tc.perCPU && b != tc.bufferBytes:
				t.Errorf("bpfstream_buffer_bytes %d, want %d", b, tc.bufferBytes)
			case tc.perCPU && (b == 0 || b%tc.bufferBytes != 0 || b/tc.bufferBytes > possible):
				t.Errorf("bpfstream_buffer_bytes %d, want %d per online CPU", b, tc.bufferBytes)
			}
			r.stop()
		})
	}
}

// TestExampleNoWakeupCount: with a producer that never wakes the reader,
// the drain timer alone delivers -count events and the example exits.
func TestExampleNoWakeupCount(t *testing.T) {
	privileged.MountTracefs(t)
	dir := build(t)
	unique := uniqueBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "ringbuf-reserve-submit"), "-wakeup", "never", "-drain-interval", "50ms", "-count", "3", "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Exec the probe until the example has exited.
	exited := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-exited:
				return
			case <-time.After(20 * time.Millisecond):
				exec.Command(unique).Run()
			}
		}
	}()
	err := cmd.Wait()
	close(exited)
	wg.Wait()
	if err != nil {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 3 {
		t.Errorf("%d events, want 3:\n%s", n, stdout.String())
	}
	if !strings.Contains(stderr.String(), ": 3 records received") {
		t.Errorf("summary %q, want 3 records", stderr.String())
	}
}
