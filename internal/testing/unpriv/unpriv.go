// Package unpriv runs a test again as an unprivileged user: a copy of the
// running test binary is executed under setpriv as uid/gid 65534 (nobody)
// with no supplementary groups and every capability dropped (effective,
// permitted, inheritable, ambient and bounding sets), with only that test
// selected and EnvChild set so the test knows it is the child.
//
// The parent must be root. The test binary that `go test` runs lives in a
// build cache directory only root can enter, so Run copies it into a
// world-readable temporary directory first.
package unpriv

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
)

// EnvChild is set to "1" in the environment of the unprivileged child.
const EnvChild = "BPFSTREAM_UNPRIV_CHILD"

// Nobody is the uid and gid the child runs as.
const Nobody = 65534

// Child reports whether this process is the unprivileged child.
func Child() bool { return os.Getenv(EnvChild) == "1" }

// Args is the setpriv command line that drops every privilege, before the
// program to run.
func Args() []string {
	return []string{
		"--reuid=" + strconv.Itoa(Nobody),
		"--regid=" + strconv.Itoa(Nobody),
		"--clear-groups",
		"--inh-caps=-all",
		"--ambient-caps=-all",
		"--bounding-set=-all",
		"--no-new-privs",
		"--",
	}
}

// Run re-executes the test binary as nobody with no capabilities, running
// only the test named test (a top-level test name), and returns its combined
// output. extraFiles become the child's descriptors 3, 4, ... The parent test
// is skipped (or failed, with BPFSTREAM_REQUIRE_PRIVILEGED=1) when it is not
// root or setpriv is missing. A child that fails or runs longer than timeout
// fails tb, with its output.
func Run(tb testing.TB, test string, extraFiles []*os.File, timeout time.Duration) string {
	tb.Helper()
	return run(tb, test, nil, extraFiles, timeout)
}

// EnvCaps lists, in the environment of a child started by RunCaps, the
// capabilities it kept, comma-separated.
const EnvCaps = "BPFSTREAM_UNPRIV_CAPS"

// ArgsCaps is Args keeping caps (setpriv's names: "bpf", "perfmon",
// "dac_read_search") in the child's effective set: they stay in the
// inheritable, ambient and bounding sets, and ambient capabilities survive
// the change to nobody and the exec.
func ArgsCaps(caps []string) []string {
	keep := ""
	for _, c := range caps {
		keep += ",+" + c
	}
	args := Args()
	for i, a := range args {
		for _, set := range []string{"--inh-caps=", "--ambient-caps=", "--bounding-set="} {
			if strings.HasPrefix(a, set) {
				args[i] = a + keep
			}
		}
	}
	return args
}

// RunCaps is Run with the child keeping caps (see ArgsCaps), listed in its
// EnvCaps.
func RunCaps(tb testing.TB, test string, caps []string, timeout time.Duration) string {
	tb.Helper()
	return run(tb, test, caps, nil, timeout)
}

// Caps returns the capabilities the child was started with by RunCaps.
func Caps() []string {
	if v := os.Getenv(EnvCaps); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

func run(tb testing.TB, test string, caps []string, extraFiles []*os.File, timeout time.Duration) string {
	tb.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(tb, fmt.Errorf("re-running as an unprivileged user needs root (euid %d)", os.Geteuid()))
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		skipOrFail(tb, fmt.Errorf("setpriv (util-linux) not found: %w", err))
	}
	self, err := os.Executable()
	if err != nil {
		tb.Fatalf("find the test binary: %v", err)
	}
	dir, err := os.MkdirTemp("", "bpfstream-unpriv-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(self))
	if err := copyFile(bin, self, 0o755); err != nil {
		tb.Fatalf("copy the test binary: %v", err)
	}

	args := Args()
	if caps != nil {
		args = ArgsCaps(caps)
	}
	args = append(args, bin, "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd := exec.Command(setpriv, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), EnvChild+"=1", EnvCaps+"="+strings.Join(caps, ","))
	cmd.ExtraFiles = extraFiles
	cmd.WaitDelay = time.Second
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %v: %v", cmd.Args, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-waited
		tb.Fatalf("unprivileged child still running after %v:\n%s", timeout, out)
	}
	if err != nil {
		tb.Fatalf("unprivileged child (%s): %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	if !strings.Contains(out.String(), "--- PASS: "+test) {
		tb.Fatalf("unprivileged child did not run %s:\n%s", test, out)
	}
	return out.String()
}

func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv(privileged.EnvRequire) == "1" {
		tb.Fatalf("unprivileged re-run required (%s=1): %v", privileged.EnvRequire, err)
	}
	tb.Skip("skipping: " + err.Error())
}

func copyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// Identity describes the process's credentials as /proc/self/status has
// them.
type Identity struct {
	UID, GID                       int
	CapEff, CapPrm, CapInh, CapBnd uint64
	CapAmb                         uint64
	NoNewPrivs                     bool
}

// Self reads the process's identity from /proc/self/status.
func Self() (Identity, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return Identity{}, err
	}
	defer f.Close()
	var id Identity
	caps := map[string]*uint64{"CapEff": &id.CapEff, "CapPrm": &id.CapPrm, "CapInh": &id.CapInh, "CapBnd": &id.CapBnd, "CapAmb": &id.CapAmb}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch {
		case key == "Uid" || key == "Gid":
			n, err := strconv.Atoi(strings.Fields(val)[1]) // effective
			if err != nil {
				return id, err
			}
			if key == "Uid" {
				id.UID = n
			} else {
				id.GID = n
			}
		case key == "NoNewPrivs":
			id.NoNewPrivs = val == "1"
		case caps[key] != nil:
			n, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return id, err
			}
			*caps[key] = n
		}
	}
	if err := sc.Err(); err != nil {
		return id, err
	}
	return id, nil
}

// Unprivileged returns an error unless the process runs as Nobody with no
// capability in any set.
func (id Identity) Unprivileged() error {
	if id.UID != Nobody || id.GID != Nobody {
		return fmt.Errorf("running as uid %d gid %d, want %d", id.UID, id.GID, Nobody)
	}
	if id.CapEff|id.CapPrm|id.CapInh|id.CapBnd|id.CapAmb != 0 {
		return errors.New("capabilities left: " + fmt.Sprintf("%+v", id))
	}
	return nil
}
