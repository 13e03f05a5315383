package perfbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

func newConsumer(t testing.TB, p *producer.Producer, opts perfbuf.Options) *perfbuf.Consumer {
	t.Helper()
	c, err := perfbuf.New(p.Map(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestExactDelivery produces on every CPU at once into buffers that hold
// everything, then checks every seq arrived once, in order per CPU, tagged
// with the CPU that built it.
func TestExactDelivery(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	// 40 bytes per record (8 header + 4 size + 24 sample + 4 padding).
	c := newConsumer(t, p, perfbuf.Options{PerCPUBytes: 64 << 20})
	cpus := producer.AllCPUs()
	require.NoError(t, p.RunParallel(cpus, n/len(cpus)))
	attempted := streamtest.Attempted(t, p)
	require.GreaterOrEqual(t, attempted, uint64(n/len(cpus)*len(cpus)))

	chk := streamtest.ConsumeAll(t, c, attempted)
	perCPU := chk.PerCPU()
	for _, cpu := range cpus {
		require.NotZero(t, perCPU[cpu], "no record from CPU %d", cpu)
	}

	s := c.Stats()
	require.Equal(t, attempted, s.Records)
	require.True(t, s.LostKnown)
	require.Zero(t, s.Lost)
	require.Len(t, s.LostPerCPU, int(p.Map().MaxEntries()))
	require.Equal(t, uint64(64<<20*len(cpus)), s.BufferBytes)
	require.NotZero(t, s.Wakeups)
}

// TestLossAccounting overflows a one-page buffer with nobody reading. The
// kernel reports the loss after the next successful write, so after draining
// one more sample is produced: delivered + lost == attempted exactly, and the
// kernel's count equals the program's own failure count.
func TestLossAccounting(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 128})
	var reported uint64
	c := newConsumer(t, p, perfbuf.Options{PerCPUBytes: 4096, OnLost: func(cpu int, n uint64) {
		require.Equal(t, 0, cpu)
		reported += n
	}})
	require.NoError(t, p.Run(0, 1000))
	s := c.Stats()
	require.Zero(t, s.Lost, "no loss is reported before the reader sees the lost record")

	dropped, err := p.Dropped()
	require.NoError(t, err)
	require.NotZero(t, dropped)
	fits := streamtest.Attempted(t, p) - dropped
	streamtest.ConsumeAll(t, c, fits)

	require.NoError(t, p.Run(0, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Consume(ctx, func(r transport.Record) error { return streamtest.ErrDone })
	require.ErrorIs(t, err, streamtest.ErrDone)

	s = c.Stats()
	require.Equal(t, fits+1, s.Records)
	require.Equal(t, dropped, s.Lost)
	require.Equal(t, dropped, s.LostPerCPU[0])
	require.Equal(t, dropped, reported)
	require.Equal(t, streamtest.Attempted(t, p), s.Records+s.Lost)
}

func TestBadInput(t *testing.T) {
	privileged.Require(t)
	_, err := perfbuf.New(nil, perfbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)

	hash, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer hash.Close()
	_, err = perfbuf.New(hash, perfbuf.Options{})
	require.ErrorIs(t, err, transport.ErrMapType)

	pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	require.NoError(t, err)
	defer pb.Close()
	for name, opts := range map[string]perfbuf.Options{
		"negative size":        {PerCPUBytes: -1},
		"huge size":            {PerCPUBytes: 1 << 40},
		"both thresholds":      {WakeupEvents: 2, WakeupBytes: 64},
		"watermark above size": {PerCPUBytes: 4096, WakeupBytes: 4096},
		"negative drain":       {DrainInterval: -time.Second},
		"negative events":      {WakeupEvents: -1},
	} {
		_, err := perfbuf.New(pb, opts)
		require.ErrorIs(t, err, transport.ErrInvalidOptions, name)
	}

	closed, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	_, err = perfbuf.New(closed, perfbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
}

func TestRoundedSize(t *testing.T) {
	page := 4096
	for in, want := range map[int]int{1: page, page: page, page + 1: 2 * page, 3 * page: 4 * page, 32 << 10: 32 << 10} {
		require.Equal(t, want, perfbuf.RoundedSize(in), "size %d", in)
	}
}

// TestNoAllocationsPerRecord checks that consuming 100,000 records costs a
// small constant number of allocations.
func TestNoAllocationsPerRecord(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	c := newConsumer(t, p, perfbuf.Options{PerCPUBytes: 16 << 20})
	require.NoError(t, p.Run(0, 100_000))
	attempted := streamtest.Attempted(t, p)
	require.Less(t, streamtest.ConsumeAllocs(t, c, attempted), uint64(100), "the callback path must not allocate per record")
}

// TestCloseCountsUnread: samples left in the buffers when the consumer is
// closed go away with them; the native reader counts them as lost, so
// delivered + lost == attempted still holds after Close.
func TestCloseCountsUnread(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 64})
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: 1 << 20})
	require.NoError(t, err)
	require.NoError(t, p.RunParallel(producer.AllCPUs(), 1000))
	var got uint64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Consume(ctx, func(transport.Record) error {
		if got++; got == 300 {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	require.NoError(t, c.Close())
	s := c.Stats()
	require.Equal(t, uint64(300), s.Records)
	require.Equal(t, streamtest.Attempted(t, p), s.Records+s.Lost)
}
