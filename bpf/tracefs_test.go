package bpf

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/tracefs"
)

// TestOpenWithoutTracefs unmounts tracefs, checks that Open fails with
// ErrNoTracefs saying how to mount it, then that Options.MountTracefs mounts
// it and attaches. It remounts tracefs in any case.
func TestOpenWithoutTracefs(t *testing.T) {
	privileged.MountTracefs(t)
	path, err := tracefs.Find()
	if err != nil || path != tracefs.DefaultPath {
		t.Skipf("tracefs is at %q (%v), not only at %s: not unmounting it", path, err, tracefs.DefaultPath)
	}
	if err := unix.Unmount(tracefs.DefaultPath, 0); err != nil {
		t.Skipf("cannot unmount tracefs: %v", err)
	}
	t.Cleanup(func() {
		if _, err := tracefs.Ensure(); err != nil {
			t.Errorf("remount tracefs: %v", err)
		}
	})
	if _, err := tracefs.Find(); err == nil {
		t.Skip("tracefs is still reachable (mounted twice, or under debugfs)")
	}

	_, err = Open(RingbufReserveSubmit, Options{})
	if !errors.Is(err, ErrNoTracefs) {
		t.Fatalf("Open without tracefs: %v, want ErrNoTracefs", err)
	}
	if !strings.Contains(err.Error(), "mount -t tracefs nodev /sys/kernel/tracing") {
		t.Errorf("error %q does not say how to mount tracefs", err)
	}

	e, err := Open(RingbufReserveSubmit, Options{MountTracefs: true})
	if err != nil {
		t.Fatalf("Open with MountTracefs: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tracefs.Find(); err != nil {
		t.Fatalf("tracefs not mounted after Open with MountTracefs: %v", err)
	}
}

func TestErrNoTracefsSaysHow(t *testing.T) {
	if !strings.Contains(ErrNoTracefs.Error(), "mount -t tracefs nodev /sys/kernel/tracing") {
		t.Errorf("%q", ErrNoTracefs)
	}
}
