package ringbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// ringPerCPU loads one producer per CPU, each with its own ring, and puts the
// rings in an ARRAY_OF_MAPS, as an agent with a ring per CPU would.
func ringPerCPU(t *testing.T, ringSize int) (*ebpf.Map, []*producer.Producer) {
	cpus := producer.AllCPUs()
	ps := make([]*producer.Producer, len(cpus))
	for i := range cpus {
		ps[i] = streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: ringSize})
	}
	outer, err := ebpf.NewMap(&ebpf.MapSpec{
		Type:       ebpf.ArrayOfMaps,
		KeySize:    4,
		ValueSize:  4,
		MaxEntries: uint32(len(cpus)),
		InnerMap:   &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(ringSize)},
	})
	require.NoError(t, err)
	t.Cleanup(func() { outer.Close() })
	for i, p := range ps {
		require.NoError(t, outer.Put(uint32(i), p.Map()))
	}
	return outer, ps
}

// TestArrayOfMapsMergedByTimestamp: a ring per CPU, producers on every CPU at
// once, merged by the samples' ktime: every record arrives once, tagged with
// its ring's slot, in timestamp order.
func TestArrayOfMapsMergedByTimestamp(t *testing.T) {
	outer, ps := ringPerCPU(t, 4<<20)
	c, err := ringbuf.NewArrayOfMaps(outer, ringbuf.Options{Reorder: &transport.Reorder{Timestamp: producer.Ktime, Window: time.Second}})
	require.NoError(t, err)
	defer c.Close()

	const perCPU = 20_000
	done := make(chan error, len(ps))
	for cpu, p := range ps {
		go func() { done <- p.Run(cpu, perCPU) }()
	}
	var want uint64
	for range ps {
		require.NoError(t, <-done)
	}
	checkers := make([]streamtest.Checker, len(ps))
	for _, p := range ps {
		want += streamtest.Attempted(t, p)
	}

	var last, got uint64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Consume(ctx, func(r transport.Record) error {
		require.Less(t, int(r.Source), len(ps))
		require.NoError(t, checkers[r.Source].Add(r))
		ts, _ := producer.Ktime(r.Sample)
		require.GreaterOrEqual(t, ts, last, "timestamp order")
		last = ts
		if got++; got == want {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	for i, p := range ps {
		require.Equal(t, streamtest.Attempted(t, p), checkers[i].Count(), "ring %d", i)
	}
	s := c.Stats()
	require.Zero(t, s.Late)
	require.Equal(t, want, s.Records)
	require.Equal(t, uint64(len(ps)*4<<20), s.BufferBytes)
}

func TestArrayOfMapsErrors(t *testing.T) {
	outer, _ := ringPerCPU(t, 4096)
	hash, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer hash.Close()
	_, err = ringbuf.NewArrayOfMaps(hash, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrMapType)

	require.NoError(t, outer.Delete(uint32(0)))
	_, err = ringbuf.NewArrayOfMaps(outer, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	require.ErrorContains(t, err, "slot 0")

	_, err = ringbuf.NewMulti([]*ebpf.Map{}, ringbuf.Options{Reorder: &transport.Reorder{}})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
}
