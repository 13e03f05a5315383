package tracefs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

func TestParseMountinfoLine(t *testing.T) {
	root, mp, fs, ok := parseMountinfoLine(`36 35 0:12 / /sys/kernel/trac\040ing rw,nosuid shared:9 - tracefs nodev rw`)
	if !ok || root != "/" || mp != "/sys/kernel/trac ing" || fs != "tracefs" {
		t.Errorf("got %q %q %q %v", root, mp, fs, ok)
	}
	if _, _, _, ok := parseMountinfoLine("garbage"); ok {
		t.Error("garbage parsed")
	}
	if got := unescape(`a\134b\0`); got != `a\b\0` {
		t.Errorf("unescape = %q", got)
	}
}

func TestFromMountinfo(t *testing.T) {
	dir := t.TempDir()
	debugfs := filepath.Join(dir, "debug")
	if err := os.MkdirAll(filepath.Join(debugfs, "tracing"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(content string) string {
		p := filepath.Join(dir, "mountinfo")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	none := write("22 1 0:21 / /proc rw - proc proc rw\n")
	if got := fromMountinfo(none); got != "" {
		t.Errorf("no tracefs: got %q", got)
	}
	dbg := write("22 1 0:21 / /proc rw - proc proc rw\n30 22 0:7 / " + debugfs + " rw - debugfs debugfs rw\n")
	if got := fromMountinfo(dbg); got != filepath.Join(debugfs, "tracing") {
		t.Errorf("debugfs: got %q", got)
	}
	both := write("30 22 0:7 / " + debugfs + " rw - debugfs debugfs rw\n31 22 0:8 /sub /elsewhere rw - tracefs nodev rw\n32 22 0:8 / /my/tracing rw - tracefs nodev rw\n")
	if got := fromMountinfo(both); got != "/my/tracing" {
		t.Errorf("tracefs: got %q", got)
	}
	if got := fromMountinfo(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing file: got %q", got)
	}
}

func TestFindAndEnsure(t *testing.T) {
	if os.Geteuid() != 0 {
		if _, err := Find(); errors.Is(err, ErrNotMounted) {
			_, err := Ensure()
			if !errors.Is(err, ErrNotMounted) || !errors.Is(err, transport.ErrPermission) {
				t.Errorf("Ensure without root: %v", err)
			}
		}
		t.Skip("mounting needs root")
	}
	p, err := Ensure()
	if err != nil {
		t.Fatal(err)
	}
	if !IsTracefs(p) {
		t.Errorf("%s is not tracefs", p)
	}
	if _, err := os.Stat(filepath.Join(p, "events/sched/sched_process_exec/id")); err != nil {
		t.Error(err)
	}
	if q, err := Find(); err != nil || q != p {
		t.Errorf("Find = %q, %v; Ensure said %q", q, err, p)
	}
	if IsTracefs(t.TempDir()) {
		t.Error("a temp dir is tracefs")
	}
}
