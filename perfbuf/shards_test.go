package perfbuf_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestShardsDeliverEveryCPUInOrder: a consumer whose CPUs' buffers are
// drained by one shard per CPU hands every record over exactly once, each
// CPU's records in order and tagged with that CPU; Stats counts all of them
// and every shard's buffers; Close ends Consume with ErrClosed and leaves no
// goroutine behind.
func TestShardsDeliverEveryCPUInOrder(t *testing.T) {
	leakcheck.Check(t)
	const perCPU = 20_000
	cpus := producer.AllCPUs()
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: 4 << 20, Shards: len(cpus)})
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, uint64(4<<20*len(cpus)), c.Stats().BufferBytes, "every shard's buffers")

	var mu sync.Mutex
	last := make(map[int32]uint64)
	count := make(map[int32]int)
	total := 0
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(context.Background(), func(r transport.Record) error {
			h, err := producer.ParseHeader(r.Sample)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if h.CPU != uint32(r.CPU) {
				return errors.New("record tagged with another CPU than the one that wrote it")
			}
			if n := count[r.CPU]; n > 0 && h.Seq <= last[r.CPU] {
				return errors.New("records of one CPU out of order")
			}
			last[r.CPU], count[r.CPU] = h.Seq, count[r.CPU]+1
			total++
			return nil
		})
	}()
	require.NoError(t, p.RunParallel(cpus, perCPU))
	attempted := streamtest.Attempted(t, p)
	require.Equal(t, uint64(perCPU*len(cpus)), attempted)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= int(attempted) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	require.Equal(t, int(attempted), total, "records delivered")
	for _, cpu := range cpus {
		require.Equal(t, perCPU, count[int32(cpu)], "records of CPU %d", cpu)
	}
	mu.Unlock()

	require.NoError(t, c.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, transport.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not return after Close")
	}
	s := c.Stats()
	require.Equal(t, attempted, s.Records)
	require.True(t, s.LostKnown)
	require.Zero(t, s.Lost)
	require.Zero(t, s.BufferBytes, "released on Close")
}

// TestShardsCloseCountsUnread: with shards, records left in any shard's
// buffers when the consumer closes are counted as lost, so delivered + lost
// == attempted still holds.
func TestShardsCloseCountsUnread(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 64})
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: 1 << 20, Shards: 2})
	require.NoError(t, err)
	require.NoError(t, p.RunParallel(producer.AllCPUs(), 1000))
	var mu sync.Mutex
	var got uint64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Consume(ctx, func(transport.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if got++; got == 300 {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	require.NoError(t, c.Close())
	s := c.Stats()
	require.GreaterOrEqual(t, s.Records, uint64(300), "the other shard may deliver before it stops")
	require.Equal(t, streamtest.Attempted(t, p), s.Records+s.Lost)
}

// TestShardsStopTogether: cancelling the context ends every shard, and
// Consume returns the context's error; options that need one handler
// goroutine are refused, and so are the channel APIs.
func TestShardsStopTogether(t *testing.T) {
	leakcheck.Check(t)
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	for _, opts := range []perfbuf.Options{
		{Shards: 2, Reorder: &transport.Reorder{}},
		{Shards: 2, Backend: perfbuf.BackendCilium},
		{Shards: -1},
		{Shards: 1 << 20},
	} {
		_, err := perfbuf.New(p.Map(), opts)
		require.ErrorIs(t, err, transport.ErrInvalidOptions, "%+v", opts)
	}

	c, err := perfbuf.New(p.Map(), perfbuf.Options{Shards: 2})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, func(transport.Record) error { return nil }) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not return after cancel")
	}

	if len(producer.AllCPUs()) > 1 {
		s := transport.Batches(context.Background(), c, transport.ChannelOptions{})
		<-s.Done()
		require.ErrorIs(t, s.Err(), transport.ErrInvalidOptions)
	}
}
