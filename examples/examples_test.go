// Package examples_test builds each example program and runs it against real
// execs.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/examples/internal/output"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// build compiles the four examples once into a world-readable directory (so
// that an unprivileged user can run them too).
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "bpfstream-examples-")
		if buildErr != nil {
			return
		}
		if buildErr = os.Chmod(binDir, 0o755); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./perfbuf-output", "./ringbuf-output", "./ringbuf-reserve-submit", "./execsnoop")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = err
			binDir = out.String()
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binDir)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" && buildErr == nil {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func uniqueBinary(t *testing.T) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	path := filepath.Join(t.TempDir(), "bpfex-"+hex.EncodeToString(b[:]))
	data, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExamplesJSON(t *testing.T) {
	privileged.MountTracefs(t)
	dir := build(t)
	for _, tc := range []struct {
		bin     string
		args    []string
		ringbuf bool
	}{
		{"perfbuf-output", nil, false},
		{"ringbuf-output", nil, true},
		{"ringbuf-reserve-submit", nil, true},
		{"execsnoop", nil, true},
		{"execsnoop", []string{"-transport", "perfbuf"}, false},
		{"execsnoop", []string{"-transport", "ringbuf-output"}, true},
		{"execsnoop", []string{"-transport", "ringbuf-reserve-submit"}, true},
	} {
		t.Run(strings.Join(append([]string{tc.bin}, tc.args...), " "), func(t *testing.T) {
			unique := uniqueBinary(t)
			// Other processes on the machine (other tests among them) exec
			// too, and any 5 execs end the example: retry a few times
			// until the unique binary is among them.
			for attempt := 1; ; attempt++ {
				if runJSON(t, filepath.Join(dir, tc.bin), tc.args, unique, tc.ringbuf) {
					return
				}
				if attempt == 5 {
					t.Fatalf("no event for %s in 5 runs", unique)
				}
				t.Logf("run %d: no event for %s among 5 (busy machine); again", attempt, unique)
			}
		})
	}
}

// runJSON runs bin -json -count 5 while execing unique in a loop, checks its
// output, and reports whether an event for unique was among the 5.
func runJSON(t *testing.T, bin string, args []string, unique string, ringbuf bool) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "-json", "-count", "5")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	// Exec the unique binary from two goroutines, as fast as they can,
	// from before the example starts until it has exited.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := exec.Command(unique).Run(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	err := cmd.Run()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", bin, err, stderr.String())
	}

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5:\n%s", len(lines), stdout.String())
	}
	found := false
	for _, l := range lines {
		var ev output.JSONEvent
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, ev.Time); err != nil {
			t.Errorf("line %q: time: %v", l, err)
		}
		if ev.Pid <= 0 || ev.Comm == "" || ev.Filename == "" {
			t.Errorf("line %q: empty fields", l)
		}
		if ringbuf != (ev.CPU == -1) || ev.CPU < -1 {
			t.Errorf("line %q: cpu %d (ringbuf %v)", l, ev.CPU, ringbuf)
		}
		found = found || ev.Filename == unique
	}
	summary := strings.TrimSuffix(stderr.String(), "\n")
	if strings.Contains(summary, "\n") || !strings.Contains(summary, " received") || !strings.Contains(summary, " 0 lost") {
		t.Errorf("stderr is not one summary line without loss: %q", stderr.String())
	}
	return found
}

// TestExampleTableUntilSignal checks the table format and that SIGINT ends
// the program with status 0 and a summary.
func TestExampleTableUntilSignal(t *testing.T) {
	privileged.MountTracefs(t)
	dir := build(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			unique := uniqueBinary(t)
			cmd := exec.Command(filepath.Join(dir, "ringbuf-reserve-submit"))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			r := bufio.NewReader(stdout)
			header, err := r.ReadString('\n')
			if err != nil || header != output.Header+"\n" {
				t.Fatalf("header %q, %v", header, err)
			}
			lineCh := make(chan string)
			go func() {
				defer close(lineCh)
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						io.Copy(io.Discard, r)
						return
					}
					lineCh <- l
				}
			}()
			var line string
			deadline := time.After(20 * time.Second)
			for line == "" {
				if err := exec.Command(unique).Run(); err != nil {
					t.Fatal(err)
				}
				for waiting := true; waiting; {
					select {
					case l := <-lineCh:
						if strings.HasSuffix(l, " "+unique+"\n") {
							line = l
						}
					case <-time.After(50 * time.Millisecond):
						waiting = false
					case <-deadline:
						t.Fatal("no line for the unique binary")
					}
				}
			}
			f := strings.Fields(line)
			if len(f) != 5 || f[1] != "EXEC" || f[3] != filepath.Base(unique)[:15] {
				t.Errorf("line %q", line)
			}
			if _, err := time.Parse("15:04:05", f[0]); err != nil {
				t.Errorf("line %q: %v", line, err)
			}
			cmd.Process.Signal(sig)
			for range lineCh {
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("exit after %s: %v; stderr %q", sig, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), " received, ") {
				t.Errorf("no summary: %q", stderr.String())
			}
		})
	}
}

// TestExampleUnprivileged runs the examples as nobody: exit status 1 and one
// line naming what is missing.
func TestExampleUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to an unprivileged user")
	}
	dir := build(t)
	for _, args := range [][]string{
		{"execsnoop"}, {"perfbuf-output"}, {"ringbuf-output"}, {"ringbuf-reserve-submit"},
	} {
		cmd := exec.Command(filepath.Join(dir, args[0]), "-count", "1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 {
			t.Errorf("%s as nobody: %v, want exit status 1", args[0], err)
		}
		msg := stderr.String()
		if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "CAP_BPF") || strings.Contains(msg, "goroutine") {
			t.Errorf("%s as nobody: stderr %q, want one line naming CAP_BPF", args[0], msg)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s as nobody: stdout %q", args[0], stdout.String())
		}
	}
}
