package ringbuf_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// recordBytes is the ring space of one header-only test sample.
const recordBytes = producer.HeaderSize + 8

// coalescingRun consumes c in the background, checking every record, and
// remembers when the last one arrived.
type coalescingRun struct {
	mu    sync.Mutex
	chk   streamtest.Checker
	last  time.Time
	count atomic.Uint64
	done  chan error
}

func startConsume(ctx context.Context, c transport.Consumer) *coalescingRun {
	run := &coalescingRun{done: make(chan error, 1)}
	go func() {
		run.done <- c.Consume(ctx, func(r transport.Record) error {
			run.mu.Lock()
			defer run.mu.Unlock()
			if err := run.chk.Add(r); err != nil {
				return err
			}
			run.last = time.Now()
			run.count.Add(1)
			return nil
		})
	}()
	return run
}

// await waits until n records have arrived, failing after timeout.
func (run *coalescingRun) await(t *testing.T, n uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for run.count.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records arrived within %s", run.count.Load(), n, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// produceFor runs the producer on CPU 0 in chunks of 256 samples, one per
// millisecond at most, until stop is closed: a sustained rate of up to
// 256,000 records/s that a reader keeps up with, even under the race
// detector.
func produceFor(t *testing.T, p *producer.Producer, stop <-chan struct{}) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			if err := p.Run(0, 256); err != nil {
				errc <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return errc
}

// TestCoalesceDeliversEverything: an adaptive producer at a high rate, then
// idle, then a single record. With coalescing on, every record arrives
// exactly once (delivered + dropped == attempted), the reader holds its last
// record back while the rate is high (which is what spares the producer its
// wake-ups), publishes everything once the producer has been idle, and the
// lone record afterwards still arrives.
func TestCoalesceDeliversEverything(t *testing.T) {
	const bound = 40 * time.Millisecond
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, RingSize: 1 << 20})
	c := newConsumer(t, p, ringbuf.Options{Coalesce: bound})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := startConsume(ctx, c)

	stop := make(chan struct{})
	produced := produceFor(t, p, stop)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	require.NoError(t, <-produced)
	idleFrom := time.Now()
	attempted := streamtest.Attempted(t, p)
	dropped, err := p.Dropped()
	require.NoError(t, err)
	run.await(t, attempted-dropped, 10*time.Second)
	run.mu.Lock()
	tail := run.last.Sub(idleFrom)
	run.mu.Unlock()
	t.Logf("%d records, %d dropped; the tail arrived %s after the producer stopped; %+v", attempted-dropped, dropped, tail, c.Stats())
	// The real bound is Coalesce/2 plus the time to read what waits; a
	// reader that strands its tail waits for the next record instead,
	// for ever here. Generous, for a shared machine.
	require.Less(t, tail, time.Second, "the records produced last must not wait for the next wake-up")

	// Holding back: right after the burst, the published position stays
	// one record behind (the kernel sees it as pending) until the reader
	// notices the rate has fallen; then everything is published.
	sawHeld, sawPublished := false, false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !sawPublished; time.Sleep(time.Millisecond) {
		switch pending := c.Stats().PendingBytes; pending {
		case recordBytes:
			sawHeld = true
		case 0:
			sawPublished = true
		default:
			t.Fatalf("pending %d bytes with every record delivered", pending)
		}
	}
	require.True(t, sawHeld, "the coalescing reader must hold its last record back while the rate is high")
	require.True(t, sawPublished, "an idle coalescing reader must publish everything and wait in epoll")

	// Back on wake-ups: a lone record arrives.
	require.NoError(t, p.Run(0, 1))
	run.await(t, attempted-dropped+1, 5*time.Second)
	cancel()
	require.ErrorIs(t, <-run.done, context.Canceled)
	require.NoError(t, run.chk.Err())
	st := c.Stats()
	total := streamtest.Attempted(t, p)
	require.Equal(t, total, st.Records+st.Lost, "delivered + lost == attempted")
	missing, some := run.chk.Missing(total - dropped)
	if dropped == 0 {
		require.Zero(t, missing, "missing seqs, e.g. %v", some)
	}
}

// TestCoalesceStopsPromptly: while a reader coalesces under a running
// producer, cancelling its context and closing it both end Consume promptly,
// no goroutine outlives Close, and a consumer opened after Close on the same
// ring hands over the rest: every record exactly once across the two.
func TestCoalesceStopsPromptly(t *testing.T) {
	const bound = 200 * time.Millisecond // long ticks: Consume must not wait them out
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			leakcheck.Check(t)
			p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput, RingSize: 4 << 20})
			c, err := ringbuf.New(p.Map(), ringbuf.Options{DropCounter: p.Drops(), Coalesce: bound})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			run := startConsume(ctx, c)
			stop := make(chan struct{})
			produced := produceFor(t, p, stop)
			time.Sleep(300 * time.Millisecond) // coalescing by now

			start := time.Now()
			if how == "cancel" {
				cancel()
			} else {
				require.NoError(t, c.Close())
			}
			var consumeErr error
			select {
			case consumeErr = <-run.done:
			case <-time.After(5 * time.Second):
				t.Fatal("Consume did not return within 5 s")
			}
			took := time.Since(start)
			close(stop)
			require.NoError(t, <-produced)
			if how == "cancel" {
				require.ErrorIs(t, consumeErr, context.Canceled)
				require.NoError(t, c.Close())
			} else {
				require.ErrorIs(t, consumeErr, transport.ErrClosed)
			}
			t.Logf("Consume returned %s after %s; %d records so far", how, took, run.count.Load())
			require.Less(t, took, 2*time.Second, "Consume must not wait for the producer or many ticks")

			// The rest, with a new consumer: nothing twice, nothing lost.
			first := run.count.Load()
			attempted := streamtest.Attempted(t, p)
			dropped, err := p.Dropped()
			require.NoError(t, err)
			c2 := newConsumer(t, p, ringbuf.Options{})
			run2 := &coalescingRun{done: make(chan error, 1)}
			run2.chk = run.chk // continues the sequence check
			ctx2, cancel2 := context.WithCancel(context.Background())
			defer cancel2()
			go func() {
				run2.done <- c2.Consume(ctx2, func(r transport.Record) error {
					run2.mu.Lock()
					defer run2.mu.Unlock()
					if err := run2.chk.Add(r); err != nil {
						return err
					}
					run2.count.Add(1)
					return nil
				})
			}()
			run2.await(t, attempted-dropped-first, 10*time.Second)
			cancel2()
			if err := <-run2.done; !errors.Is(err, context.Canceled) {
				t.Fatalf("second consumer: %v", err)
			}
			require.NoError(t, run2.chk.Err())
			require.Equal(t, attempted-dropped, run2.chk.Count(), "every record exactly once across both consumers")
		})
	}
}

// TestCoalesceOptions: a bound that cannot be kept, or a reader that cannot
// hold records back, is refused.
func TestCoalesceOptions(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufOutput})
	for name, opts := range map[string]ringbuf.Options{
		"negative":  {Coalesce: -time.Millisecond},
		"too short": {Coalesce: 10 * time.Microsecond},
		"cilium":    {Coalesce: time.Millisecond, Backend: ringbuf.BackendCilium},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := ringbuf.New(p.Map(), opts)
			require.ErrorIs(t, err, transport.ErrInvalidOptions)
			require.Nil(t, c)
		})
	}
	c, err := ringbuf.New(p.Map(), ringbuf.Options{Coalesce: 100 * time.Microsecond})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}
