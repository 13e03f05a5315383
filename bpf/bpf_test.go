package bpf

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// uniqueBinary copies /bin/true to a fresh directory under a random name and
// returns its path. Events for it cannot come from anything but this test.
func uniqueBinary(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "bpfst-"+hex.EncodeToString(b[:]))
	src, err := os.Open("/bin/true")
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// runN execs path n times and returns the child pids.
func runN(tb testing.TB, path string, n int) []int {
	tb.Helper()
	pids := make([]int, 0, n)
	for range n {
		cmd := exec.Command(path)
		if err := cmd.Run(); err != nil {
			tb.Fatalf("exec %s: %v", path, err)
		}
		pids = append(pids, cmd.Process.Pid)
	}
	return pids
}

// comm is the command name the kernel gives an exec of path.
func comm(path string) string {
	base := filepath.Base(path)
	if len(base) > event.TaskCommLen-1 {
		base = base[:event.TaskCommLen-1]
	}
	return base
}

func open(tb testing.TB, p Program, opts Options) *Tracer {
	tb.Helper()
	privileged.MountTracefs(tb)
	leakcheck.Check(tb)
	e, err := Open(p, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", p, err)
	}
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return e
}

func TestExecEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog Program
		opts Options
		want Program
		kind transport.Kind
	}{
		{"perfbuf-output", PerfbufOutput, Options{}, PerfbufOutput, transport.KindPerfbuf},
		{"ringbuf-output", RingbufOutput, Options{}, RingbufOutput, transport.KindRingbuf},
		{"ringbuf-reserve-submit", RingbufReserveSubmit, Options{}, RingbufReserveSubmit, transport.KindRingbuf},
		{"auto", Auto, Options{}, RingbufReserveSubmit, transport.KindRingbuf},
		{"auto-fallback", Auto, Options{NoRingbuf: true}, PerfbufOutput, transport.KindPerfbuf},
		{"ringbuf-output-never-wakeup", RingbufOutput, Options{Wakeup: ringbuf.WakeupNever}, RingbufOutput, transport.KindRingbuf},
		{"ringbuf-reserve-submit-bytes-wakeup", RingbufReserveSubmit, Options{Wakeup: ringbuf.WakeupBytes, WakeupBytes: 4096, RingBytes: 64 << 10}, RingbufReserveSubmit, transport.KindRingbuf},
		{"ringbuf-reserve-submit-always-wakeup", RingbufReserveSubmit, Options{Wakeup: ringbuf.WakeupAlways}, RingbufReserveSubmit, transport.KindRingbuf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := open(t, tc.prog, tc.opts)
			if e.Program() != tc.want {
				t.Fatalf("Program() = %s, want %s", e.Program(), tc.want)
			}
			if k := e.Consumer().Kind(); k != tc.kind {
				t.Fatalf("Consumer().Kind() = %s, want %s", k, tc.kind)
			}
			checkExecs(t, e, 50)
		})
	}
}

// checkExecs runs a unique binary n times and expects exactly n events for
// it, with the children's pids.
func checkExecs(t *testing.T, e *Tracer, n int) {
	bin := uniqueBinary(t)
	dec := event.NewExecDecoder()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu   sync.Mutex
		got  = map[int]int{} // pid -> events
		cpus = map[int]bool{}
		all  int
		done = make(chan struct{})
	)
	consumed := make(chan error, 1)
	go func() {
		consumed <- e.Consumer().Consume(ctx, event.Handler(dec, func(v *event.Exec, rec transport.Record) error {
			if v.Filename() != bin {
				return nil
			}
			if v.Comm() != comm(bin) {
				t.Errorf("comm = %q, want %q", v.Comm(), comm(bin))
			}
			mu.Lock()
			defer mu.Unlock()
			got[int(v.Pid)]++
			cpus[int(rec.CPU)] = true
			all++
			if all == n {
				close(done)
			}
			return nil
		}, func(rec transport.Record, err error) error {
			t.Errorf("decode: %v", err)
			return nil
		}))
	}()

	pids := runN(t, bin, n)
	select {
	case <-done:
	case <-ctx.Done():
	}
	// Give stray or duplicate events a moment to show up.
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-consumed; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Consume: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if all != n {
		t.Errorf("got %d events for %s, want %d (stats %+v)", all, bin, n, e.Consumer().Stats())
	}
	for _, pid := range pids {
		if got[pid] != 1 {
			t.Errorf("pid %d: %d events, want 1", pid, got[pid])
		}
		delete(got, pid)
	}
	for pid, c := range got {
		t.Errorf("%d events from unexpected pid %d", c, pid)
	}
	if e.Consumer().Kind() == transport.KindRingbuf && (len(cpus) != 1 || !cpus[transport.NoCPU]) {
		t.Errorf("ringbuf record CPUs %v, want only %d", cpus, transport.NoCPU)
	}
	if s := e.Consumer().Stats(); !s.LostKnown || s.Lost != 0 {
		t.Errorf("stats %+v: want LostKnown and no loss", s)
	}
}

// TestRingbufDrops fills a one-page ring whose consumer is not reading. The
// program counts every run in an attempts map and every failed
// output/reserve in the drop counter; once the program is detached (so no
// other exec on the machine can change the counts) and the ring drained,
// every attempt must be either received or counted in Stats.Lost, exactly.
// The counts cover all execs on the machine, not only the test's: that is
// what makes the equation exact without trusting the burst size.
func TestRingbufDrops(t *testing.T) {
	for _, p := range []Program{RingbufOutput, RingbufReserveSubmit} {
		t.Run(p.String(), func(t *testing.T) {
			e := open(t, p, Options{RingBytes: os.Getpagesize()})
			bin := uniqueBinary(t)
			const burst = 50
			runN(t, bin, burst)

			// Detach, then wait for runs in flight to finish.
			if err := e.link.Close(); err != nil {
				t.Fatal(err)
			}
			e.link = nil
			time.Sleep(100 * time.Millisecond)

			attempts, err := e.attemptCount()
			if err != nil {
				t.Fatal(err)
			}
			before := e.Consumer().Stats()
			if attempts < burst || before.Lost == 0 || !before.LostKnown || before.Records != 0 {
				t.Fatalf("after a burst of %d execs into a full ring: attempts %d, stats %+v; want >= %d attempts, drops, no records yet",
					burst, attempts, before, burst)
			}
			want := attempts - before.Lost

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var received, mine uint64
			dec := event.NewExecDecoder()
			err = e.Consumer().Consume(ctx, event.Handler(dec, func(v *event.Exec, _ transport.Record) error {
				received++
				if v.Filename() == bin {
					mine++
				}
				if received == want {
					cancel()
				}
				return nil
			}, nil))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Consume: %v (received %d of %d)", err, received, want)
			}
			s := e.Consumer().Stats()
			if s.PendingBytes != 0 {
				t.Errorf("%d bytes still waiting after receiving %d records", s.PendingBytes, received)
			}
			if s.Records+s.Lost != attempts {
				t.Errorf("received %d + dropped %d != attempts %d", s.Records, s.Lost, attempts)
			}
			if mine == 0 || mine > burst {
				t.Errorf("received %d events of the test binary, want 1..%d", mine, burst)
			}
			t.Logf("attempts %d = received %d (%d of the test's %d execs) + dropped %d", attempts, s.Records, mine, burst, s.Lost)
		})
	}
}

func TestCloseUnblocksConsume(t *testing.T) {
	e := open(t, RingbufReserveSubmit, Options{})
	errc := make(chan error, 1)
	go func() {
		errc <- e.Consumer().Consume(context.Background(), func(transport.Record) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, transport.ErrClosed) {
			t.Errorf("Consume after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Consume still blocked 5s after Close")
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestParseProgram(t *testing.T) {
	for _, p := range []Program{Auto, PerfbufOutput, RingbufOutput, RingbufReserveSubmit} {
		got, err := ParseProgram(p.String())
		if err != nil || got != p {
			t.Errorf("ParseProgram(%q) = %s, %v", p.String(), got, err)
		}
	}
	if p, err := ParseProgram("perfbuf"); err != nil || p != PerfbufOutput {
		t.Errorf("ParseProgram(perfbuf) = %s, %v", p, err)
	}
	if _, err := ParseProgram("kprobe"); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("ParseProgram(kprobe): %v, want ErrInvalidOptions", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, opts := range []Options{
		{RingBytes: 1000},
		{RingBytes: 3 * os.Getpagesize()},
		{RingBytes: -4096},
		{Wakeup: ringbuf.WakeupBytes},
		{Wakeup: ringbuf.WakeupNever, WakeupBytes: 10},
		{Wakeup: ringbuf.Wakeup(42)},
	} {
		// Checked before anything is loaded: no privileges needed.
		if _, err := Open(RingbufReserveSubmit, opts); !errors.Is(err, transport.ErrInvalidOptions) {
			t.Errorf("Open(%+v): %v, want ErrInvalidOptions", opts, err)
		}
	}
}

func TestErrNoTracefsText(t *testing.T) {
	if !strings.Contains(ErrNoTracefs.Error(), "mount -t tracefs nodev /sys/kernel/tracing") {
		t.Errorf("ErrNoTracefs = %q: does not say how to mount tracefs", ErrNoTracefs)
	}
	err := attachError(PerfbufOutput, errors.New("neither debugfs nor tracefs are mounted"))
	if !errors.Is(err, ErrNoTracefs) {
		t.Errorf("attachError for cilium's tracefs error = %v, want ErrNoTracefs", err)
	}
}
