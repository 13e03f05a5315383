package perfbuf_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

type perfProducer struct{ p *producer.Producer }

func (pp perfProducer) Produce(t *testing.T, n int) int {
	t.Helper()
	before := streamtest.Attempted(t, pp.p)
	if err := pp.p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	return int(streamtest.Attempted(t, pp.p) - before)
}

func (perfProducer) Seq(sample []byte) (uint64, error) {
	h, err := producer.ParseHeader(sample)
	return h.Seq, err
}

// TestNativeConformance runs the transport conformance suite against the
// native reader.
func TestNativeConformance(t *testing.T) {
	const perCPU, sample = 16 << 10, 64
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: sample})
			c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: perCPU, Backend: perfbuf.BackendNative})
			require.NoError(t, err)
			return c, perfProducer{p}
		},
		// 8 header + 4 size + 64 sample, padded to 80.
		Capacity: perCPU / 80,
		Kind:     transport.KindPerfbuf,
	})
}

type rec struct {
	sample []byte
	cpu    int
}

// outcome is what one reader made of a scenario.
type outcome struct {
	recs      []rec
	lost      uint64
	onLost    uint64
	perCPU    []uint64
	delivered uint64
	attempted uint64
}

// scenario drives a fresh producer and a consumer with the given reader. Each
// step produces n samples on CPU 0 (without reading), then reads what
// arrived; tail steps produce one more sample so the kernel reports losses.
type scenario struct {
	name   string
	perCPU int
	size   int
	steps  []int
}

func (sc scenario) run(t *testing.T, reader perfbuf.Backend) outcome {
	t.Helper()
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: sc.size})
	var out outcome
	c, err := perfbuf.New(p.Map(), perfbuf.Options{PerCPUBytes: sc.perCPU, Backend: reader,
		OnLost: func(cpu int, n uint64) { out.onLost += n }})
	require.NoError(t, err)
	defer c.Close()
	for i, n := range sc.steps {
		droppedBefore, err := p.Dropped()
		require.NoError(t, err)
		before := streamtest.Attempted(t, p)
		require.NoError(t, p.Run(0, n))
		dropped, err := p.Dropped()
		require.NoError(t, err)
		want := streamtest.Attempted(t, p) - before - (dropped - droppedBefore)
		var got uint64
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = c.Consume(ctx, func(r transport.Record) error {
			s := bytes.Clone(r.Sample)
			if len(s) >= 16 {
				clear(s[8:16]) // ktime differs between runs
			}
			out.recs = append(out.recs, rec{s, int(r.CPU)})
			if got++; got == want {
				return streamtest.ErrDone
			}
			return nil
		})
		cancel()
		require.ErrorIs(t, err, streamtest.ErrDone, "step %d", i)
	}
	s := c.Stats()
	out.lost, out.perCPU, out.delivered = s.Lost, s.LostPerCPU, s.Records
	out.attempted = streamtest.Attempted(t, p)
	return out
}

// runExact runs the scenario until the kernel emitted exactly the requested
// samples: a test run interrupted by a signal is retried whole and emits
// more, and two runs can only be compared when they emitted the same.
func (sc scenario) runExact(t *testing.T, reader perfbuf.Backend) outcome {
	t.Helper()
	var requested uint64
	for _, n := range sc.steps {
		requested += uint64(n)
	}
	for try := 1; ; try++ {
		out := sc.run(t, reader)
		if out.attempted == requested || try == 5 {
			return out
		}
		t.Logf("%v: a test run was retried (%d samples for %d requested): again", reader, out.attempted, requested)
	}
}

// TestNativeMatchesCilium runs the same scenarios with the native reader and
// cilium/ebpf's, each on a fresh producer, and requires the same records
// (bytes, padding included, timestamps aside), in the same order, and the
// same loss counts.
func TestNativeMatchesCilium(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for _, sc := range []scenario{
		{name: "exact", perCPU: 64 << 20, size: producer.HeaderSize, steps: []int{n}},
		// 100-byte samples are 112-byte records: they straddle the end
		// of a 4096-byte buffer, so the native reader copies them.
		{name: "wrap-100B-in-4KiB", perCPU: 4096, size: 100, steps: repeat(30, 60)},
		{name: "wrap-padded", perCPU: 4096, size: 131, steps: repeat(25, 60)},
		// 1000 samples into 4 KiB without reading: most are lost, and the
		// loss is reported with the next sample.
		{name: "tiny-with-loss", perCPU: 4096, size: 128, steps: []int{1000, 1, 1000, 1}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			native := sc.runExact(t, perfbuf.BackendNative)
			ref := sc.runExact(t, perfbuf.BackendCilium)
			require.Equal(t, len(ref.recs), len(native.recs))
			for i := range ref.recs {
				if !bytes.Equal(ref.recs[i].sample, native.recs[i].sample) || ref.recs[i].cpu != native.recs[i].cpu {
					t.Fatalf("record %d: native %+v, cilium %+v", i, native.recs[i], ref.recs[i])
				}
			}
			require.Equal(t, ref.lost, native.lost)
			require.Equal(t, ref.onLost, native.onLost)
			require.Equal(t, ref.perCPU, native.perCPU)
			require.Equal(t, ref.delivered, native.delivered)
			t.Logf("%d records, %d lost", len(ref.recs), ref.lost)
		})
	}
}

func repeat(n, times int) []int {
	s := make([]int, times)
	for i := range s {
		s[i] = n
	}
	return s
}

// TestNativeCloseDuringHandler closes the consumer from another goroutine
// while the handler holds a borrowed sample: the buffer stays mapped until the
// handler returns, and Consume returns ErrClosed.
func TestNativeCloseDuringHandler(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 64})
	c, err := perfbuf.New(p.Map(), perfbuf.Options{})
	require.NoError(t, err)
	require.NoError(t, p.Run(0, 10))
	calls, sum := 0, 0
	err = c.Consume(context.Background(), func(r transport.Record) error {
		if calls++; calls == 1 {
			closed := make(chan struct{})
			go func() { _ = c.Close(); close(closed) }()
			<-closed
			for _, b := range r.Sample {
				sum += int(b)
			}
		}
		return nil
	})
	require.ErrorIs(t, err, transport.ErrClosed)
	require.Equal(t, 1, calls)
	// The buffers are out of the map: the program's writes now fail.
	dropped, err := p.Dropped()
	require.NoError(t, err)
	require.NoError(t, p.Run(0, 5))
	after, err := p.Dropped()
	require.NoError(t, err)
	require.Equal(t, dropped+5, after)
}

// TestNativeWakeupEvents: with a wake-up every 64 samples, records still all
// arrive (the timer drains the rest) with fewer wake-ups than records.
func TestNativeWakeupEvents(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	c := newConsumer(t, p, perfbuf.Options{WakeupEvents: 64, DrainInterval: 20 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		for i := 0; i < 10; i++ {
			if err := p.Run(0, 100); err != nil {
				errc <- err
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		errc <- nil
	}()
	streamtest.ConsumeAll(t, c, 1000)
	require.NoError(t, <-errc)
	s := c.Stats()
	require.Less(t, s.Wakeups, s.Records)
}
