package ring

import (
	"encoding/binary"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// A BPF program cannot hold a reservation open for the length of a test, so
// these tests build a Ringbuf over memory they control (the ring's own data
// pages are read-only to user space) behind a real poller, and write a busy
// record header themselves.

// testRing is a one-ring Ringbuf over heap memory, mapped twice in a row the
// way the kernel maps the data pages (here: a copy the test keeps in sync).
type testRing struct {
	r          *Ringbuf
	data       []byte
	cons, prod uintptr
}

func newTestRing(t *testing.T, size int, interval time.Duration) *testRing {
	t.Helper()
	tr := &testRing{data: make([]byte, 2*size)}
	p, err := newPoller(1, interval)
	require.NoError(t, err)
	tr.r = &Ringbuf{
		p:        p,
		opts:     Options{Interval: interval}.withDefaults(),
		maxBatch: uintptr(size),
		visit:    newVisitSet(1, interval),
		gate:     newPollGate(),
		rings: []rbRing{{
			position: position[uintptr]{at: &tr.cons, pub: 0, stored: 0},
			prodPos:  &tr.prod,
			data:     unsafe.Pointer(&tr.data[0]),
			mask:     uintptr(size - 1),
			size:     size,
		}},
	}
	tr.r.visit.addAll()
	t.Cleanup(func() { _ = tr.r.Close() })
	return tr
}

// put writes a record header of ln bytes at pos with the given flag bits.
func (tr *testRing) put(pos uintptr, ln, bits uint32) {
	binary.NativeEndian.PutUint32(tr.data[pos:], ln|bits)
}

// drainResult is what one Drain on its own locked thread did.
type drainResult struct {
	err     error
	records int
	cpu     time.Duration // the thread's CPU time during the Drain
	wall    time.Duration
}

// drain runs one Drain on a goroutine locked to its thread, so that the
// thread's CPU time is the Drain's.
func (tr *testRing) drain() <-chan drainResult {
	ch := make(chan drainResult, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var res drainResult
		before, start := threadCPU(), time.Now()
		res.err = tr.r.Drain(core.NewEmitter(func(transport.Record) error {
			res.records++
			return nil
		}))
		res.cpu, res.wall = threadCPU()-before, time.Since(start)
		ch <- res
	}()
	return ch
}

func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// await waits generously for a Drain to return; on failure it closes the
// reader (which the old busy loop did notice) so the goroutine ends.
func await(t *testing.T, tr *testRing, ch <-chan drainResult, what string) drainResult {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(10 * time.Second):
		_ = tr.r.Close()
		<-ch
		t.Fatalf("Drain did not return after %s", what)
		return drainResult{}
	}
}

// TestBusyRecordInterrupt: a record stays reserved (busy) while the reader
// has nothing else. Drain must stay responsive to Interrupt and use little
// CPU while it waits, then hand the record over once it is committed.
func TestBusyRecordInterrupt(t *testing.T) {
	tr := newTestRing(t, 4096, 0)
	tr.put(0, 16, ringbufBusyBit)
	tr.prod = 24

	ch := tr.drain()
	time.Sleep(500 * time.Millisecond)
	tr.r.Interrupt()
	res := await(t, tr, ch, "Interrupt")
	require.ErrorIs(t, res.err, core.ErrWake)
	require.Zero(t, res.records)
	t.Logf("busy for %s: %s of CPU", res.wall, res.cpu)
	// Spinning costs the whole wall time; backing off a few percent. The
	// bound is loose: a loaded machine only lowers the ratio.
	require.Less(t, res.cpu, res.wall/4, "Drain spun while the record was busy")

	// The producer commits: the next Drain hands the record over.
	tr.put(0, 16, 0)
	res = await(t, tr, tr.drain(), "the record was committed")
	require.NoError(t, res.err)
	require.Equal(t, 1, res.records)
	require.Equal(t, uintptr(24), tr.cons)
}

// TestBusyRecordClose: Close ends a Drain that waits for a busy record.
func TestBusyRecordClose(t *testing.T) {
	tr := newTestRing(t, 4096, 0)
	tr.put(0, 16, ringbufBusyBit)
	tr.prod = 24
	ch := tr.drain()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, tr.r.Close())
	res := await(t, tr, ch, "Close")
	require.ErrorIs(t, res.err, transport.ErrClosed)
	require.Zero(t, res.records)
}

// TestBusyRecordInterval: with a drain interval, a Drain waiting for a busy
// record returns ErrWake by itself about as often as an idle one would, so
// the consume loop looks at its context and timers.
func TestBusyRecordInterval(t *testing.T) {
	tr := newTestRing(t, 4096, 20*time.Millisecond)
	tr.put(0, 16, ringbufBusyBit)
	tr.prod = 24
	res := await(t, tr, tr.drain(), "the drain interval")
	require.True(t, errors.Is(res.err, core.ErrWake), "Drain returned %v", res.err)
	require.Zero(t, res.records)
}

// TestBusyRecordsCommittedWhileRead: a producer reserves and commits records
// while both readers (per-record and batch) read the ring. A record the
// reader found busy may be committed by the time it looks at it again; every
// record must be handed over once, in order, none skipped.
func TestBusyRecordsCommittedWhileRead(t *testing.T) {
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "callback", true: "batch"}[batched], func(t *testing.T) {
			const size, records = 1 << 16, 4000 // 16-byte records: no wrap
			var consPos, prodPos uintptr
			data := make([]byte, 2*size)
			rg := &rbRing{position: position[uintptr]{at: &consPos, pub: 0, stored: 0}, prodPos: &prodPos, data: unsafe.Pointer(&data[0]), mask: size - 1, size: size}
			r := &Ringbuf{p: &poller{}, opts: Options{}.withDefaults()}
			var got []uint64
			check := func(rec transport.Record) { got = append(got, binary.NativeEndian.Uint64(rec.Sample)) }
			emit := checkingEmitter(batched, 256, check)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for k := range uint64(records) {
					pos := uintptr(k) * 16
					hdr := (*uint32)(unsafe.Pointer(&data[pos]))
					atomic.StoreUint32(hdr, 8|ringbufBusyBit) // reserved
					binary.NativeEndian.PutUint64(data[pos+8:], k)
					atomic.StoreUintptr(&prodPos, pos+16)
					for range k % 7 * 10 { // commit after a while, varied
						runtime.Gosched()
					}
					atomic.StoreUint32(hdr, 8) // committed
				}
			}()
			deadline := time.Now().Add(10 * time.Second)
			for len(got) < records && time.Now().Before(deadline) {
				if _, _, _, err := r.slice(rg, emit); err != nil {
					t.Fatal(err)
				}
			}
			<-done
			for k, v := range got {
				if v != uint64(k) {
					t.Fatalf("record %d handed over as the %dth: a record before it was skipped", v, k)
				}
			}
			if len(got) != records {
				t.Fatalf("%d of %d records handed over", len(got), records)
			}
		})
	}
}
