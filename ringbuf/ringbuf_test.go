package ringbuf_test

import (
	"context"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

func newConsumer(t testing.TB, p *producer.Producer, opts ringbuf.Options) *ringbuf.Consumer {
	t.Helper()
	if opts.DropCounter == nil {
		opts.DropCounter = p.Drops()
	}
	c, err := ringbuf.New(p.Map(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestExactDelivery(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for _, kind := range []producer.Kind{producer.RingbufOutput, producer.RingbufReserve} {
		t.Run(kind.String(), func(t *testing.T) {
			// 32 bytes per record (24 + 8 header): the ring holds all of them.
			p := streamtest.Load(t, producer.Config{Kind: kind, RingSize: 64 << 20})
			c := newConsumer(t, p, ringbuf.Options{})

			require.NoError(t, p.Run(0, n))
			attempted := streamtest.Attempted(t, p)
			require.GreaterOrEqual(t, attempted, uint64(n))

			streamtest.ConsumeAll(t, c, attempted)

			s := c.Stats()
			require.Equal(t, attempted, s.Records)
			require.Equal(t, attempted*producer.HeaderSize, s.Bytes)
			require.True(t, s.LostKnown)
			require.Zero(t, s.Lost)
			require.Equal(t, uint64(64<<20), s.BufferBytes)
			require.Zero(t, s.PendingBytes)
			require.NotZero(t, s.Wakeups)
		})
	}
}

// TestConcurrentProducers runs the producer on every CPU while consuming: the
// ring keeps one commit order, so seqs from different CPUs may interleave but
// each is delivered once, and nothing is lost with a ring this large.
func TestConcurrentProducers(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 20, SampleSize: 64})
	c := newConsumer(t, p, ringbuf.Options{})
	cpus := producer.AllCPUs()
	const perCPU = 50_000
	done := make(chan error, 1)
	go func() { done <- p.RunParallel(cpus, perCPU) }()

	seen := make(map[uint64]bool)
	var total uint64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Consume(ctx, func(r transport.Record) error {
		require.Equal(t, int32(transport.NoCPU), r.CPU)
		require.Len(t, r.Sample, 64)
		h, err := producer.ParseHeader(r.Sample)
		require.NoError(t, err)
		require.False(t, seen[h.Seq], "seq %d twice", h.Seq)
		seen[h.Seq] = true
		total++
		if total == uint64(perCPU*len(cpus)) {
			return streamtest.ErrDone
		}
		return nil
	})
	require.ErrorIs(t, err, streamtest.ErrDone)
	require.NoError(t, <-done)
	attempted, err := p.Attempted()
	require.NoError(t, err)
	require.Equal(t, attempted, c.Stats().Records+c.Stats().Lost)
}

// TestLossAccounting fills a small ring with nobody reading: what the ring
// could not take is in Stats.Lost, and delivered + lost == attempted exactly.
func TestLossAccounting(t *testing.T) {
	for _, kind := range []producer.Kind{producer.RingbufOutput, producer.RingbufReserve} {
		t.Run(kind.String(), func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: kind, RingSize: 4096, SampleSize: 128})
			c := newConsumer(t, p, ringbuf.Options{})
			require.NoError(t, p.Run(0, 1000))
			attempted := streamtest.Attempted(t, p)

			s := c.Stats()
			require.True(t, s.LostKnown)
			require.NotZero(t, s.Lost)
			require.NotZero(t, s.PendingBytes)
			want := attempted - s.Lost

			chk := streamtest.ConsumeAll(t, c, want)
			require.Equal(t, want, chk.Count())
			require.Equal(t, attempted, c.Stats().Records+c.Stats().Lost)
		})
	}
}

func TestWithoutDropCounterLossIsUnknown(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve})
	c, err := ringbuf.New(p.Map(), ringbuf.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.Stats()
	require.False(t, s.LostKnown)
	require.Nil(t, s.LostPerCPU)
	require.Equal(t, transport.KindRingbuf, c.Kind())
}

func TestBadInput(t *testing.T) {
	privileged.Require(t)
	_, err := ringbuf.New(nil, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)

	hash, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer hash.Close()
	_, err = ringbuf.New(hash, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrMapType)
	require.ErrorContains(t, err, "Hash")

	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	require.NoError(t, err)
	defer rb.Close()
	_, err = ringbuf.New(rb, ringbuf.Options{DrainInterval: -time.Second})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = ringbuf.New(rb, ringbuf.Options{DropCounter: hash})
	require.ErrorIs(t, err, transport.ErrMapType)
	wide, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer wide.Close()
	_, err = ringbuf.New(rb, ringbuf.Options{DropCounter: wide})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)

	closed, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	_, err = ringbuf.New(closed, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	require.ErrorContains(t, err, "closed")
}

// TestNoAllocationsPerRecord consumes 100,000 records and checks that the
// whole Consume call allocates a small constant amount, not one per record.
func TestNoAllocationsPerRecord(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 20})
	c := newConsumer(t, p, ringbuf.Options{})
	const n = 100_000
	require.NoError(t, p.Run(0, n))
	attempted := streamtest.Attempted(t, p)
	require.Less(t, streamtest.ConsumeAllocs(t, c, attempted), uint64(100), "the callback path must not allocate per record")
}
