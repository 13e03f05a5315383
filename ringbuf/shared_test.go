package ringbuf_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// consumeExactly consumes want records from c, then keeps consuming for a
// short while to see that nothing more arrives, and returns the sources the
// records came from.
func consumeExactly(t *testing.T, c transport.Consumer, want uint64) map[int]uint64 {
	t.Helper()
	chk := streamtest.Checker{Unordered: true}
	sources := map[int]uint64{}
	handler := func(r transport.Record) error {
		sources[int(r.Source)]++
		if err := chk.Add(r); err != nil {
			return err
		}
		if chk.Count() == want {
			return streamtest.ErrDone
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.ErrorIs(t, c.Consume(ctx, handler), streamtest.ErrDone)
	// A second reader of the same ring would deliver the records again.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := c.Consume(ctx, handler)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a record arrived twice or more than produced: %v", chk.Err())
	require.Equal(t, want, chk.Count())
	return sources
}

// noDrops requires that every sample p attempted went into its ring, so that
// Attempted is exactly what the consumer must deliver.
func noDrops(t *testing.T, p *producer.Producer) {
	t.Helper()
	dropped, err := p.Dropped()
	require.NoError(t, err)
	require.Zero(t, dropped)
}

// TestArrayOfMapsSharedRing: several slots of an ARRAY_OF_MAPS hold the same
// ring (Falco's ring per group of CPUs): every record arrives exactly once,
// tagged with the first slot that holds its ring.
func TestArrayOfMapsSharedRing(t *testing.T) {
	const ringSize, n = 1 << 20, 20_000
	a := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: ringSize})
	b := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: ringSize})
	outer, err := ebpf.NewMap(&ebpf.MapSpec{
		Type:       ebpf.ArrayOfMaps,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: 4,
		InnerMap:   &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: ringSize},
	})
	require.NoError(t, err)
	defer outer.Close()
	// Slots 0, 1 and 3 share a's ring; slot 2 holds b's.
	for slot, p := range []*producer.Producer{a, a, b, a} {
		require.NoError(t, outer.Put(uint32(slot), p.Map()))
	}
	c, err := ringbuf.NewArrayOfMaps(outer, ringbuf.Options{})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, uint64(2*ringSize), c.Stats().BufferBytes, "one buffer per distinct ring")

	// Each producer numbers its samples from 0: check each ring's records
	// on their own.
	for _, tc := range []struct {
		p      *producer.Producer
		source int
	}{{a, 0}, {b, 2}} {
		before := streamtest.Attempted(t, tc.p)
		require.Zero(t, before)
		require.NoError(t, tc.p.Run(0, n))
		noDrops(t, tc.p)
		want := streamtest.Attempted(t, tc.p)
		sources := consumeExactly(t, c, want)
		require.Equal(t, map[int]uint64{tc.source: want}, sources)
	}
}

// TestMultiSameRingTwice: NewMulti given one ring twice reads it once.
func TestMultiSameRingTwice(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 1 << 20})
	c, err := ringbuf.NewMulti([]*ebpf.Map{p.Map(), p.Map()}, ringbuf.Options{})
	require.NoError(t, err)
	require.NoError(t, p.Run(0, 20_000))
	noDrops(t, p)
	want := streamtest.Attempted(t, p)
	require.Equal(t, map[int]uint64{0: want}, consumeExactly(t, c, want))
	require.NoError(t, c.Close()) // one consumer of a ring at a time

	// A second handle on the same ring (a different fd) is the same ring.
	clone, err := p.Map().Clone()
	require.NoError(t, err)
	defer clone.Close()
	c2, err := ringbuf.NewMulti([]*ebpf.Map{clone, p.Map()}, ringbuf.Options{Reorder: &transport.Reorder{Timestamp: producer.Ktime, Window: time.Second}})
	require.NoError(t, err)
	defer c2.Close()
	require.NoError(t, p.Run(0, 20_000))
	noDrops(t, p)
	want = streamtest.Attempted(t, p) - want
	require.Equal(t, map[int]uint64{0: want}, consumeExactly(t, c2, want))
}

// TestOverwriteRingRefused: a ring created with BPF_F_RB_OVERWRITE is not
// read (its producer overwrites records the reader may be reading).
func TestOverwriteRingRefused(t *testing.T) {
	privileged.Require(t)
	const overwrite = 1 << 19 // BPF_F_RB_OVERWRITE
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096, Flags: overwrite})
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("the kernel refuses BPF_F_RB_OVERWRITE (added in Linux 6.19): %v", err)
	}
	require.NoError(t, err)
	defer m.Close()
	for _, reader := range []ringbuf.Backend{ringbuf.BackendNative, ringbuf.BackendCilium} {
		_, err = ringbuf.New(m, ringbuf.Options{Backend: reader})
		require.ErrorIs(t, err, transport.ErrMapType)
		require.ErrorContains(t, err, "BPF_F_RB_OVERWRITE")
	}
	plain, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	require.NoError(t, err)
	defer plain.Close()
	_, err = ringbuf.NewMulti([]*ebpf.Map{plain, m}, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrMapType)
	require.ErrorContains(t, err, "map 1")
}
