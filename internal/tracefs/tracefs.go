// Package tracefs finds and mounts tracefs, which link.Tracepoint needs to
// read a trace event's id.
//
// cilium/ebpf looks tracefs up once per process and remembers a failure, so
// callers must make sure tracefs is mounted (Find, then Mount) before the
// first link.Tracepoint call of the process: mounting afterwards does not
// help that process.
package tracefs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfstream/bpfstream/transport"
	"golang.org/x/sys/unix"
)

// DefaultPath is where tracefs is mounted on current systems.
const DefaultPath = "/sys/kernel/tracing"

// MountCommand is the shell command that mounts tracefs at DefaultPath.
const MountCommand = "mount -t tracefs nodev " + DefaultPath

// ErrNotMounted means neither tracefs nor a debugfs with a tracing directory
// is mounted. Package bpf turns it into bpf.ErrNoTracefs, whose text says how
// to mount it.
var ErrNotMounted = errors.New("tracefs is not mounted")

// Find returns the directory where tracefs is mounted, looking where
// cilium/ebpf looks: a tracefs mount in /proc/self/mountinfo, a debugfs mount
// with a tracing directory, then /sys/kernel/tracing and
// /sys/kernel/debug/tracing by file system type. It returns an error matching
// ErrNotMounted when there is none.
func Find() (string, error) {
	if p := fromMountinfo("/proc/self/mountinfo"); p != "" {
		return p, nil
	}
	for _, c := range []struct {
		path  string
		magic int64
	}{
		{DefaultPath, unix.TRACEFS_MAGIC},
		{"/sys/kernel/debug/tracing", unix.TRACEFS_MAGIC},
		{"/sys/kernel/debug/tracing", unix.DEBUGFS_MAGIC},
	} {
		if isFS(c.path, c.magic) {
			return c.path, nil
		}
	}
	return "", ErrNotMounted
}

// IsTracefs reports whether dir is the root of a tracefs (or debugfs tracing)
// mount.
func IsTracefs(dir string) bool {
	return isFS(dir, unix.TRACEFS_MAGIC) || isFS(dir, unix.DEBUGFS_MAGIC)
}

func isFS(path string, magic int64) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return int64(st.Type) == magic
}

// fromMountinfo returns the first tracefs mount point in a mountinfo file,
// else the tracing directory of the first debugfs mount that has one.
func fromMountinfo(file string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	var debugfs []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		root, mountPoint, fsType, ok := parseMountinfoLine(sc.Text())
		if !ok || root != "/" {
			continue
		}
		switch fsType {
		case "tracefs":
			return mountPoint
		case "debugfs":
			debugfs = append(debugfs, mountPoint)
		}
	}
	for _, m := range debugfs {
		tracing := filepath.Join(m, "tracing")
		if info, err := os.Stat(tracing); err == nil && info.IsDir() {
			return tracing
		}
	}
	return ""
}

// parseMountinfoLine extracts the root, mount point and file system type of
// one /proc/self/mountinfo line (see proc(5)).
func parseMountinfoLine(line string) (root, mountPoint, fsType string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 5 || len(g) < 1 {
		return "", "", "", false
	}
	return unescape(f[3]), unescape(f[4]), g[0], true
}

// unescape decodes the octal escapes (\040 for a space) of mountinfo paths.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, ok := octal(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	var v int
	for _, c := range s {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// Mount mounts tracefs at DefaultPath. It needs CAP_SYS_ADMIN (root); without
// it the error matches transport.ErrPermission.
func Mount() error {
	if err := unix.Mount("nodev", DefaultPath, "tracefs", 0, ""); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("tracefs: %s: %w; mounting needs CAP_SYS_ADMIN (root): %w", MountCommand, err, transport.ErrPermission)
		}
		return fmt.Errorf("tracefs: %s: %w", MountCommand, err)
	}
	return nil
}

// Ensure returns the tracefs directory, mounting tracefs at DefaultPath first
// when it is not mounted anywhere. When mounting fails the error matches
// ErrNotMounted and, for missing privileges, transport.ErrPermission.
func Ensure() (string, error) {
	if p, err := Find(); err == nil {
		return p, nil
	}
	if err := Mount(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotMounted, err)
	}
	return Find()
}
