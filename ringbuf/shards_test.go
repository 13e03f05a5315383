package ringbuf_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestShardsDeliverEveryRingInOrder: a consumer of 8 rings drained by 3
// shards hands every record over exactly once, each ring's records in order;
// Stats counts all of them; the handler may run on several goroutines at
// once; Close ends Consume with ErrClosed and leaves no goroutine behind.
func TestShardsDeliverEveryRingInOrder(t *testing.T) {
	leakcheck.Check(t)
	const rings, perRing = 8, 2000
	maps := make([]*ebpf.Map, rings)
	prods := make([]*producer.Producer, rings)
	for i := range maps {
		prods[i] = streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, RingSize: 256 << 10})
		maps[i] = prods[i].Map()
	}
	c, err := ringbuf.NewMulti(maps, ringbuf.Options{Shards: 3})
	require.NoError(t, err)
	defer c.Close()

	var mu sync.Mutex
	last := make(map[int32]uint64)
	count := make(map[int32]int)
	total := 0
	inHandler, most := 0, 0
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(context.Background(), func(r transport.Record) error {
			h, err := producer.ParseHeader(r.Sample)
			if err != nil {
				return err
			}
			mu.Lock()
			inHandler++
			most = max(most, inHandler)
			if n := count[r.Source]; n > 0 && h.Seq <= last[r.Source] {
				mu.Unlock()
				return errors.New("records of one ring out of order")
			}
			last[r.Source], count[r.Source] = h.Seq, count[r.Source]+1
			total++
			mu.Unlock()
			time.Sleep(time.Microsecond) // give the shards a chance to overlap
			mu.Lock()
			inHandler--
			mu.Unlock()
			return nil
		})
	}()
	var wg sync.WaitGroup
	for _, p := range prods {
		wg.Add(1)
		go func() { defer wg.Done(); require.NoError(t, p.Run(0, perRing)) }()
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := total
		mu.Unlock()
		if n >= rings*perRing || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	require.Equal(t, rings*perRing, total, "records delivered")
	for i := range rings {
		require.Equal(t, perRing, count[int32(i)], "records of ring %d", i)
	}
	t.Logf("at most %d handler calls at once", most)
	mu.Unlock()

	require.NoError(t, c.Close())
	select {
	case err := <-done:
		require.ErrorIs(t, err, transport.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("Consume did not return after Close")
	}
	// Each shard counts a drain's records as the drain ends: complete once
	// Consume has returned.
	require.Equal(t, uint64(rings*perRing), c.Stats().Records)
}

// TestShardsStopTogether: cancelling the context ends every shard, and
// Consume returns the context's error; the channel APIs and Reorder, which
// need one handler goroutine, are refused.
func TestShardsStopTogether(t *testing.T) {
	leakcheck.Check(t)
	p1 := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput})
	p2 := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput})
	maps := []*ebpf.Map{p1.Map(), p2.Map()}
	_, err := ringbuf.NewMulti(maps, ringbuf.Options{Shards: 2, Reorder: &transport.Reorder{}})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = ringbuf.NewMulti(maps, ringbuf.Options{Shards: -1})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)

	c, err := ringbuf.NewMulti(maps, ringbuf.Options{Shards: 2})
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

	s := transport.Batches(context.Background(), c, transport.ChannelOptions{})
	<-s.Done()
	require.ErrorIs(t, s.Err(), transport.ErrInvalidOptions)
}
