package ringbuf_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// ringProducer adapts the test producer to transporttest.Producer.
type ringProducer struct{ p *producer.Producer }

func (rp ringProducer) Produce(t *testing.T, n int) int {
	t.Helper()
	before := streamtest.Attempted(t, rp.p)
	if err := rp.p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	return int(streamtest.Attempted(t, rp.p) - before)
}

func (ringProducer) Seq(sample []byte) (uint64, error) {
	h, err := producer.ParseHeader(sample)
	return h.Seq, err
}

// TestNativeConformance runs the transport conformance suite against the
// native reader.
func TestNativeConformance(t *testing.T) {
	conformance(t, ringbuf.BackendNative)
}

func conformance(t *testing.T, reader ringbuf.Backend) {
	const ringSize, sample = 16 << 10, 64
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: ringSize, SampleSize: sample})
			c, err := ringbuf.New(p.Map(), ringbuf.Options{DropCounter: p.Drops(), Backend: reader})
			require.NoError(t, err)
			return c, ringProducer{p}
		},
		Capacity: ringSize / (sample + 8),
		Kind:     transport.KindRingbuf,
	})
}

// rec is a delivered record, bytes copied.
type rec struct {
	sample []byte
	cpu    int
	source int
}

// consumeN reads exactly n records with a fresh consumer of the given reader
// and closes it.
func consumeN(t *testing.T, p *producer.Producer, reader ringbuf.Backend, n uint64) []rec {
	t.Helper()
	c, err := ringbuf.New(p.Map(), ringbuf.Options{Backend: reader, DropCounter: p.Drops()})
	require.NoError(t, err)
	defer c.Close()
	var got []rec
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Consume(ctx, func(r transport.Record) error {
		got = append(got, rec{bytes.Clone(r.Sample), int(r.CPU), int(r.Source)})
		if uint64(len(got)) == n {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	return got
}

// consumerPos maps the ring's consumer page so that a test can rewind the
// consumer position and read the same records again with another reader.
func consumerPos(t *testing.T, p *producer.Producer) *uintptr {
	t.Helper()
	b, err := unix.Mmap(p.Map().FD(), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Munmap(b) })
	return (*uintptr)(unsafe.Pointer(&b[0]))
}

// TestNativeMatchesCilium reads the same ring contents twice, with the native
// reader and then (after rewinding the consumer position) with cilium/ebpf's
// reader, and requires identical records in identical order. Rounds of odd
// sample sizes in a small ring make records wrap around the ring's end; the
// tiny-ring case overflows it, so both see the same survivors and the drop
// counter the same losses.
func TestNativeMatchesCilium(t *testing.T) {
	for _, tc := range []struct {
		name           string
		kind           producer.Kind
		ring, size, n  int
		rounds         int
		wantLoss, wrap bool
	}{
		{name: "exact-1M", kind: producer.RingbufReserve, ring: 64 << 20, size: producer.HeaderSize, n: 1_000_000, rounds: 1},
		{name: "wrap-odd-sizes", kind: producer.RingbufOutput, ring: 16 << 10, size: 100, n: 100, rounds: 40, wrap: true},
		{name: "wrap-reserve", kind: producer.RingbufReserve, ring: 4096, size: 212, n: 15, rounds: 40, wrap: true},
		{name: "tiny-with-loss", kind: producer.RingbufOutput, ring: 4096, size: 128, n: 1000, rounds: 3, wantLoss: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.n > 100_000 {
				tc.n = 100_000
			}
			p := streamtest.Load(t, producer.Config{Kind: tc.kind, RingSize: tc.ring, SampleSize: tc.size})
			cons := consumerPos(t, p)
			var total uint64
			wraps := 0
			for round := 0; round < tc.rounds; round++ {
				start := atomic.LoadUintptr(cons)
				before := streamtest.Attempted(t, p)
				droppedBefore, err := p.Dropped()
				require.NoError(t, err)
				require.NoError(t, p.Run(0, tc.n))
				dropped, err := p.Dropped()
				require.NoError(t, err)
				want := streamtest.Attempted(t, p) - before - (dropped - droppedBefore)
				if tc.wantLoss {
					require.NotZero(t, dropped-droppedBefore, "round %d lost nothing", round)
				}

				native := consumeN(t, p, ringbuf.BackendNative, want)
				end := atomic.LoadUintptr(cons)
				atomic.StoreUintptr(cons, start)
				ref := consumeN(t, p, ringbuf.BackendCilium, want)
				require.Equal(t, end, atomic.LoadUintptr(cons), "round %d: readers stopped at different positions", round)
				require.Equal(t, len(ref), len(native))
				for i := range ref {
					if !bytes.Equal(ref[i].sample, native[i].sample) || ref[i].cpu != native[i].cpu || ref[i].source != native[i].source {
						t.Fatalf("round %d record %d: native %+v, cilium %+v", round, i, native[i], ref[i])
					}
				}
				total += want
				if end&^uintptr(tc.ring-1) != start&^uintptr(tc.ring-1) {
					wraps++
				}
			}
			t.Logf("%d records compared, %d rounds crossed the ring's end", total, wraps)
			if tc.wrap {
				require.NotZero(t, wraps)
			}
		})
	}
}

// TestNativeMulti reads three rings with one consumer under a 100x skewed
// load: every record arrives once, in order per ring, tagged with its ring's
// index, and the quiet rings' records are not held back behind the busy
// ring's backlog.
func TestNativeMulti(t *testing.T) {
	const busy, quiet = 100_000, 1_000
	counts := []int{quiet, busy, quiet}
	var prods []*producer.Producer
	for range counts {
		prods = append(prods, streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 8 << 20, SampleSize: 32}))
	}
	want := make([]uint64, len(counts))
	var total uint64
	for i, p := range prods {
		require.NoError(t, p.Run(0, counts[i]))
		want[i] = streamtest.Attempted(t, p)
		total += want[i]
	}
	maps := []*ebpf.Map{prods[0].Map(), prods[1].Map(), prods[2].Map()}
	c, err := ringbuf.NewMulti(maps, ringbuf.Options{})
	require.NoError(t, err)
	defer c.Close()

	next := make([]uint64, len(counts))
	lastQuietAt := 0
	pos := 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Consume(ctx, func(r transport.Record) error {
		pos++
		if r.Source < 0 || int(r.Source) >= len(counts) {
			return fmt.Errorf("record %d from source %d", pos, r.Source)
		}
		h, err := producer.ParseHeader(r.Sample)
		if err != nil {
			return err
		}
		if h.Seq != next[r.Source] {
			return fmt.Errorf("source %d: seq %d, want %d", r.Source, h.Seq, next[r.Source])
		}
		next[r.Source]++
		if r.Source != 1 {
			lastQuietAt = pos
		}
		if uint64(pos) == total {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	require.Equal(t, want, next)
	// Round robin by slices of at most 1024 records: both quiet rings are
	// done within the first round (3 slices), far ahead of the busy ring's
	// 100,000.
	require.Less(t, lastQuietAt, 4*1024, "the quiet rings' last record came at position %d of %d", lastQuietAt, total)
	s := c.Stats()
	require.Equal(t, total, s.Records)
	require.Equal(t, uint64(3*(8<<20)), s.BufferBytes)
	require.Zero(t, s.PendingBytes)

	_, err = ringbuf.NewMulti(maps, ringbuf.Options{Backend: ringbuf.BackendCilium})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = ringbuf.NewMulti(nil, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
}

// TestNativeMultiQuietWhileBusy keeps the busy ring full while records trickle
// into a quiet one: each quiet record arrives within a few slices of the busy
// ring's records after it was produced, not after the busy ring drains.
func TestNativeMultiQuietWhileBusy(t *testing.T) {
	busyP := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 8 << 20, SampleSize: 32})
	quietP := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 4096, SampleSize: 32})
	require.NoError(t, busyP.Run(0, 150_000)) // a backlog of 150,000
	c, err := ringbuf.NewMulti([]*ebpf.Map{busyP.Map(), quietP.Map()}, ringbuf.Options{})
	require.NoError(t, err)
	defer c.Close()
	var busySeen, quietAt int
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Consume(ctx, func(r transport.Record) error {
		if r.Source == 0 {
			busySeen++
			if busySeen == 2000 {
				// Produced now, behind ~148,000 busy records.
				if err := quietP.Run(1%runtime.NumCPU(), 1); err != nil {
					return err
				}
			}
			return nil
		}
		quietAt = busySeen
		return streamtest.ErrDone
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	require.Less(t, quietAt, 2000+3*1024, "quiet record delivered after %d busy records", quietAt)
}

// TestNativeCloseDuringHandler closes the consumer from another goroutine while
// the handler holds a borrowed sample: the mapping must stay valid until the
// handler returns (reading the sample after Close must not fault), and
// Consume then returns ErrClosed.
func TestNativeCloseDuringHandler(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, SampleSize: 64})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{})
	require.NoError(t, err)
	require.NoError(t, p.Run(0, 10))
	inHandler := make(chan struct{})
	closed := make(chan struct{})
	var calls int
	var sum int
	err = c.Consume(context.Background(), func(r transport.Record) error {
		calls++
		if calls == 1 {
			close(inHandler)
			go func() { _ = c.Close(); close(closed) }()
			<-closed
			for _, b := range r.Sample { // still mapped
				sum += int(b)
			}
		}
		return nil
	})
	<-inHandler
	require.ErrorIs(t, err, transport.ErrClosed)
	require.Equal(t, 1, calls, "no record after Close")
	require.NoError(t, c.Close())
}

// TestNativeInterrupt: cancelling the context of a Consume blocked on an
// empty ring returns promptly; records produced afterwards wait for the next
// Consume.
func TestNativeInterrupt(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput})
	c := newConsumer(t, p, ringbuf.Options{})
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Consume(ctx, func(transport.Record) error { return nil }) }()
		time.Sleep(20 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(5 * time.Second):
			t.Fatal("Consume did not return after cancel")
		}
	}
	require.NoError(t, p.Run(0, 100))
	streamtest.ConsumeAll(t, c, 100)
}

// TestNativeNoWakeupTimer: a producer that never wakes the reader is drained
// by the timer; without it, a blocked Consume sees nothing.
func TestNativeNoWakeupTimer(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, Wakeup: producer.WakeupNever})
	c := newConsumer(t, p, ringbuf.Options{DrainInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := 0
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(ctx, func(transport.Record) error {
			if got++; got == 50 {
				return streamtest.ErrDone
			}
			return nil
		})
	}()
	time.Sleep(30 * time.Millisecond) // blocked in epoll
	require.NoError(t, p.Run(0, 50))
	require.ErrorIs(t, <-done, streamtest.ErrDone)
}

// TestNativeNoAllocs: the native callback path allocates nothing per record
// also when records wrap around the ring.
func TestNativeNoAllocs(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, RingSize: 1 << 20, SampleSize: 100})
	c := newConsumer(t, p, ringbuf.Options{})
	var got, want uint64
	h := func(transport.Record) error {
		if got++; got == want {
			return streamtest.ErrDone
		}
		return nil
	}
	var allocs uint64
	for range 20 {
		got = 0
		before := streamtest.Attempted(t, p)
		require.NoError(t, p.Run(0, 5000))
		want = streamtest.Attempted(t, p) - before
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		err := c.Consume(context.Background(), h)
		runtime.ReadMemStats(&m1)
		require.ErrorIs(t, err, streamtest.ErrDone)
		allocs += m1.Mallocs - m0.Mallocs
	}
	t.Logf("%d allocations for 20 Consume calls of 5,000 records", allocs)
	require.Less(t, allocs, uint64(20*20), "a few allocations per Consume call, none per record")
}
