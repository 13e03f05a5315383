package unpriv_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream"
	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/unpriv"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestUnprivileged runs every public entry point that needs privileges as
// nobody with every capability dropped (see package unpriv): each must fail
// with an error that matches transport.ErrPermission and names the missing
// capability, and none may panic. Entry points that take a map are called
// with nil (a clear ErrInvalidOptions) and with maps that the privileged
// parent created and handed down as inherited descriptors, since an
// unprivileged process cannot create one. Each result is logged.
//
// Outcome on Linux 6.x with kernel.unprivileged_bpf_disabled=2 and
// kernel.perf_event_paranoid=2 (Debian's defaults): loading any program
// or creating any map fails for want of CAP_BPF; a perf buffer fails for want
// of CAP_PERFMON (system-wide perf events); a ring buffer handed down by a
// privileged process can be read (access to it is the descriptor's, as the
// kernel intends), so ringbuf.New succeeds there.
func TestUnprivileged(t *testing.T) {
	if unpriv.Child() {
		unprivilegedChecks(t)
		return
	}
	privileged.Require(t)
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	drops, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer drops.Close()
	var files []*os.File
	for _, m := range []*ebpf.Map{rb, pb, drops} {
		fd, err := unix.FcntlInt(uintptr(m.FD()), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), "map")
		defer f.Close()
		files = append(files, f)
	}
	out := unpriv.Run(t, "TestUnprivileged", files, time.Minute)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "entry_points_unprivileged_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

// Descriptors of the inherited maps in the child.
const (
	fdRingbuf = 3
	fdPerf    = 4
	fdDrops   = 5
)

func unprivilegedChecks(t *testing.T) {
	id, err := unpriv.Self()
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Unprivileged(); err != nil {
		t.Fatalf("the child is not unprivileged: %v", err)
	}
	t.Logf("running as uid %d gid %d, CapEff %#x CapBnd %#x, NoNewPrivs %v", id.UID, id.GID, id.CapEff, id.CapBnd, id.NoNewPrivs)

	// wantPerm checks that f fails naming capability, without panicking.
	wantPerm := func(name, capability string, f func() error) {
		t.Helper()
		err := noPanic(t, name, f)
		switch {
		case err == nil:
			t.Errorf("%s: succeeded without privileges", name)
		case !errors.Is(err, transport.ErrPermission):
			t.Errorf("%s: %v: does not match transport.ErrPermission", name, err)
		case !strings.Contains(err.Error(), capability):
			t.Errorf("%s: %v: does not name %s", name, err, capability)
		default:
			t.Logf("%s: %v", name, err)
		}
	}
	wantInvalid := func(name string, f func() error) {
		t.Helper()
		err := noPanic(t, name, f)
		if !errors.Is(err, transport.ErrInvalidOptions) {
			t.Errorf("%s: %v, want ErrInvalidOptions", name, err)
			return
		}
		t.Logf("%s: %v", name, err)
	}

	if err := privileged.Available(); err == nil {
		t.Error("privileged.Available: nil without privileges")
	} else {
		t.Logf("privileged.Available: %v", err)
	}

	// The reference programs: loading needs CAP_BPF (checked first).
	for _, p := range []bpf.Program{bpf.Auto, bpf.PerfbufOutput, bpf.RingbufOutput, bpf.RingbufReserveSubmit} {
		wantPerm("bpf.Open("+p.String()+")", "CAP_BPF", func() error {
			e, err := bpf.Open(p, bpf.Options{})
			if err == nil {
				e.Close()
			}
			return err
		})
	}
	wantPerm("bpf.Choose(Auto)", "CAP_BPF", func() error {
		_, err := bpf.Choose(bpf.Auto, false)
		return err
	})
	if err := noPanic(t, "bpf.MountTracefs", bpf.MountTracefs); err != nil {
		if !errors.Is(err, transport.ErrPermission) && !errors.Is(err, bpf.ErrNoTracefs) {
			t.Errorf("bpf.MountTracefs: %v: neither ErrPermission nor ErrNoTracefs", err)
		} else {
			t.Logf("bpf.MountTracefs: %v", err)
		}
	} else {
		t.Log("bpf.MountTracefs: nil (tracefs is mounted already)")
	}

	// Constructors without a map.
	wantInvalid("bpfstream.Open(nil)", func() error { _, err := bpfstream.Open(nil, bpfstream.Options{}); return err })
	wantInvalid("perfbuf.New(nil)", func() error { _, err := perfbuf.New(nil, perfbuf.Options{}); return err })
	wantInvalid("perfbuf.NewFlightRecorder(nil)", func() error { _, err := perfbuf.NewFlightRecorder(nil, 0); return err })
	wantInvalid("ringbuf.New(nil)", func() error { _, err := ringbuf.New(nil, ringbuf.Options{}); return err })
	wantInvalid("ringbuf.NewMulti(nil)", func() error { _, err := ringbuf.NewMulti(nil, ringbuf.Options{}); return err })

	// An unprivileged process cannot make a map to hand to them.
	if err := noPanic(t, "ebpf.NewMap(RingBuf)", func() error {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
		if err == nil {
			m.Close()
		}
		return err
	}); !errors.Is(err, unix.EPERM) {
		t.Errorf("ebpf.NewMap(RingBuf) without CAP_BPF: %v, want EPERM", err)
	} else {
		t.Logf("ebpf.NewMap(RingBuf): %v (cilium/ebpf's error; bpfstream does not create maps)", err)
	}

	// Maps handed down by a privileged process.
	maps := map[int]*ebpf.Map{}
	for _, fd := range []int{fdRingbuf, fdPerf, fdDrops} {
		m, err := ebpf.NewMapFromFD(fd)
		if err != nil {
			t.Logf("ebpf.NewMapFromFD(%d): %v: the inherited-map checks are skipped", fd, err)
			return
		}
		defer m.Close()
		maps[fd] = m
	}
	pb, rb, drops := maps[fdPerf], maps[fdRingbuf], maps[fdDrops]
	for _, r := range []perfbuf.Backend{perfbuf.BackendNative, perfbuf.BackendCilium} {
		wantPerm(fmt.Sprintf("perfbuf.New(inherited, Reader %d)", r), "CAP_PERFMON", func() error {
			c, err := perfbuf.New(pb, perfbuf.Options{Backend: r})
			if err == nil {
				c.Close()
			}
			return err
		})
	}
	wantPerm("bpfstream.Open(inherited perf event array)", "CAP_PERFMON", func() error {
		c, err := bpfstream.Open(pb, bpfstream.Options{})
		if err == nil {
			c.Close()
		}
		return err
	})
	wantPerm("perfbuf.NewFlightRecorder(inherited)", "CAP_PERFMON", func() error {
		r, err := perfbuf.NewFlightRecorder(pb, 0)
		if err == nil {
			r.Close()
		}
		return err
	})
	// A ring buffer is read through its mmap, which the descriptor allows.
	for _, r := range []ringbuf.Backend{ringbuf.BackendNative, ringbuf.BackendCilium} {
		name := fmt.Sprintf("ringbuf.New(inherited, Reader %d)", r)
		err := noPanic(t, name, func() error {
			c, err := ringbuf.New(rb, ringbuf.Options{DropCounter: drops, Backend: r})
			if err != nil {
				return err
			}
			defer c.Close()
			if s := c.Stats(); !s.LostKnown || s.BufferBytes != uint64(os.Getpagesize()) {
				return fmt.Errorf("stats %+v", s)
			}
			return nil
		})
		if err != nil && !errors.Is(err, transport.ErrPermission) {
			t.Errorf("%s: %v: neither works nor matches ErrPermission", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// noPanic runs f and turns a panic into a test failure.
func noPanic(t *testing.T, name string, f func() error) (err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("%s panicked without privileges: %v", name, v)
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return f()
}
