package perfbuf_test

import (
	"context"
	"os"
	"runtime"
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

// TestBadConfig adds to TestBadInput: every option the kernel would refuse,
// or that could never work, is a clear error at construction.
func TestBadConfig(t *testing.T) {
	privileged.Require(t)
	pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	require.NoError(t, err)
	defer pb.Close()
	page := os.Getpagesize()

	for name, opts := range map[string]perfbuf.Options{
		"size just above 1 GiB":          {PerCPUBytes: 1<<30 + 1},
		"WakeupEvents beyond capacity":   {PerCPUBytes: page, WakeupEvents: (page-8)/16 + 1},
		"WakeupBytes above rounded size": {PerCPUBytes: page + 1, WakeupBytes: 2 * page},
		"negative WakeupBytes":           {WakeupBytes: -1},
		"negative MaxSampleBytes":        {MaxSampleBytes: -1},
		"sample too large for buffer":    {PerCPUBytes: page, MaxSampleBytes: page},
		"no room for a loss report":      {PerCPUBytes: page, MaxSampleBytes: page - 36},
		"negative reorder window":        {Reorder: &transport.Reorder{Timestamp: func([]byte) (uint64, bool) { return 0, true }, Window: -time.Nanosecond}},
		"unknown reader":                 {Backend: perfbuf.Backend(42)},
	} {
		c, err := perfbuf.New(pb, opts)
		if err == nil {
			c.Close()
		}
		require.ErrorIs(t, err, transport.ErrInvalidOptions, name)
		t.Logf("%s: %v", name, err)
	}

	// The limits themselves are accepted.
	for name, opts := range map[string]perfbuf.Options{
		"zero size is the default":    {},
		"WakeupEvents at capacity":    {PerCPUBytes: page, WakeupEvents: (page - 8) / 16},
		"WakeupBytes just below size": {PerCPUBytes: page, WakeupBytes: page - 1},
		"largest sample that fits":    {PerCPUBytes: page, MaxSampleBytes: page - 44},
	} {
		c, err := perfbuf.New(pb, opts)
		require.NoError(t, err, name)
		if name == "zero size is the default" {
			require.Equal(t, uint64(perfbuf.DefaultPerCPUBytes*runtime.NumCPU()), c.Stats().BufferBytes)
		}
		require.NoError(t, c.Close())
	}

	for _, size := range []int{-1, 1 << 40} {
		r, err := perfbuf.NewFlightRecorder(pb, size)
		if err == nil {
			r.Close()
		}
		require.ErrorIs(t, err, transport.ErrInvalidOptions, "flight recorder size %d", size)
	}
}

func TestMinPerCPUBytes(t *testing.T) {
	page := os.Getpagesize()
	// A sample record is 8 + the u32 size and raw bytes padded to 8; a
	// loss report 24; the kernel keeps 8 bytes free.
	for sample, want := range map[int]int{
		0:         page,
		64:        page,
		page - 44: page,     // 8 + 4056 + 24 + 8 = 4096
		page - 43: 2 * page, // 8 + 4064 + 24 + 8 > 4096
		page:      2 * page,
		1 << 20:   2 << 20, // a power-of-two number of pages
	} {
		require.Equal(t, want, perfbuf.MinPerCPUBytes(sample), "sample of %d bytes", sample)
	}
}

// TestSampleLargerThanBuffer shows why Options.MaxSampleBytes exists: a
// per-CPU buffer with room for one sample but not for a sample and a loss
// report jams after the first loss. Every later write fails, Stats.Lost stays
// 0 (the kernel reports losses only with a successful write) and the reader
// waits forever; only the program's own drop counter sees it. With
// MaxSampleBytes set, New refuses the buffer; with the size MinPerCPUBytes
// gives, losses are reported and delivered + lost == attempted.
func TestSampleLargerThanBuffer(t *testing.T) {
	page := os.Getpagesize()
	sample := page - 36 // fits alone, not with a loss report
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: sample})

	drain := func(c *perfbuf.Consumer) uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var n uint64
		_ = c.Consume(ctx, func(transport.Record) error { n++; return nil })
		return n
	}
	run := func(c *perfbuf.Consumer) (delivered uint64) {
		require.NoError(t, p.Run(0, 3)) // at least one lost
		for range 5 {
			delivered += drain(c)
			require.NoError(t, p.Run(0, 1))
		}
		return delivered + drain(c)
	}

	// The jam, without the option.
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: page})
	require.NoError(t, err)
	delivered := run(c)
	dropped, err := p.Dropped()
	require.NoError(t, err)
	require.Equal(t, uint64(1), delivered, "only the first sample gets through")
	require.Equal(t, uint64(7), dropped)
	require.Zero(t, c.Stats().Lost, "the kernel never reports the jam")
	require.NoError(t, c.Close())

	// The option refuses that buffer, and names the size that works.
	_, err = perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: page, MaxSampleBytes: sample})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	require.ErrorContains(t, err, "at least 8192")

	before := streamtest.Attempted(t, p)
	droppedBefore := dropped
	c, err = perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: perfbuf.MinPerCPUBytes(sample), MaxSampleBytes: sample})
	require.NoError(t, err)
	defer c.Close()
	delivered = run(c)
	s := c.Stats()
	attempted := streamtest.Attempted(t, p) - before
	dropped, err = p.Dropped()
	require.NoError(t, err)
	require.Equal(t, dropped-droppedBefore, s.Lost, "every drop reported")
	require.Equal(t, attempted, delivered+s.Lost)
	require.NotZero(t, s.Lost)
}
