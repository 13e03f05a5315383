package transport_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/leakcheck"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// API through which one iteration reads.
type raceAPI int

const (
	apiCallback raceAPI = iota
	apiRecords
	apiBatches
	apiBorrowed
	apiBatchHandler
	numAPIs
)

func (a raceAPI) String() string {
	return [...]string{"callback", "records", "batches", "borrowed", "batch-handler"}[a]
}

const (
	raceBatchSize = 16
	// raceWait bounds every wait in the race test; missing it is a
	// deadlock and fails the test.
	raceWait = 10 * time.Second
)

// TestCloseAndCancelRace races Close and ctx cancellation against Consume,
// the channel API (Records and Batches) and Stats, 1,000 times per transport
// and reader backend, while the producer runs flat out. Each iteration opens
// a consumer on the same producer's map, starts consuming through one API,
// hammers Stats from another goroutine, then after a random delay (zero
// included, so some races hit before Consume has started) either closes the
// consumer from two goroutines at once or cancels ctx.
//
// What is asserted, per iteration:
//   - Consume (or the stream) returns within raceWait, with an error matching
//     ErrClosed (after Close) or context.Canceled (after cancel), and no
//     panic; Close returns nil, also when repeated, and a later Consume
//     fails with ErrClosed; Stats never goes backwards.
//   - Stats.Records equals the number of records the consumer's handler got
//     (for the channel API, the library's own handler: see tap).
//   - Channel API: the receiver, which keeps receiving until the channel is
//     closed, gets a prefix of what the handler got, in order. What it misses
//     is the record (Records) or the partial batch (Batches) that was being
//     sent when consumption ended with the channel full: at most 1 record,
//     or raceBatchSize records. That is the whole of what "accounted" can
//     mean for a send cut short by ctx: it is in Stats.Records, and the
//     receiver can tell it missed it only by comparing with Stats.Records.
//
// And over all iterations: no record is handed over twice, each CPU's
// records (perfbuf) or all records (ringbuf) arrive in seq order. ringbuf
// keeps its data in the map across consumers, so after the last iteration
// the test drains it and checks exactly: every seq the producer attempted
// was handed to some consumer or counted in the program's drop counter.
// perfbuf samples still in the per-CPU buffers when a consumer is closed go
// away with the buffers (the kernel counts them nowhere), so perfbuf is
// checked for delivered + dropped <= attempted, and the discarded rest is
// logged.
func TestCloseAndCancelRace(t *testing.T) {
	iters := 1000
	if testing.Short() {
		iters = 60
	}
	for _, hc := range hardCases() {
		t.Run(hc.name, func(t *testing.T) {
			leakcheck.Check(t)
			raceTransport(t, hc, iters)
		})
	}
}

func raceTransport(t *testing.T, hc hardCase, iters int) {
	p := streamtest.Load(t, producer.Config{Kind: hc.kind, RingSize: 64 << 10, SampleSize: 64})
	stopProducer := produceLoop(t, p, 512, runtime.NumCPU())
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	chk := &streamtest.Checker{}
	var handled, received, dropped uint64
	errCounts := map[string]int{}

	for i := range iters {
		api := raceAPI(i % int(numAPIs))
		byClose := (i/int(numAPIs))%2 == 0
		delay := time.Duration(rng.IntN(3000)) * time.Microsecond
		if rng.IntN(8) == 0 {
			delay = 0
		}
		stallReceiver := rng.IntN(4) == 0
		c, err := hc.open(p, 8<<10)
		if err != nil {
			t.Fatalf("iteration %d: open: %v", i, err)
		}
		tp := &tap{Consumer: c, chk: chk}
		ctx, cancel := context.WithCancel(context.Background())

		// Stats from another goroutine, before, during and after the end.
		statsStop := make(chan struct{})
		statsDone := make(chan string, 1)
		go func() {
			var prev transport.Stats
			for {
				s := c.Stats()
				if s.Records < prev.Records || s.Bytes < prev.Bytes || s.Lost < prev.Lost || s.Wakeups < prev.Wakeups {
					statsDone <- "Stats went backwards"
					return
				}
				prev = s
				select {
				case <-statsStop:
					statsDone <- ""
					return
				default:
					runtime.Gosched()
				}
			}
		}()

		var got []uint64 // what the channel receiver got
		endErr := make(chan error, 1)
		switch api {
		case apiCallback:
			go func() { endErr <- tp.Consume(ctx, func(transport.Record) error { return nil }) }()
		case apiRecords:
			s := transport.Records(ctx, tp, transport.ChannelOptions{Buffer: 8})
			go func() {
				for r := range s.C {
					got = append(got, seqOf(t, r.Sample))
					if stallReceiver && len(got)%32 == 0 {
						time.Sleep(200 * time.Microsecond)
					}
				}
				endErr <- s.Err()
			}()
		case apiBatchHandler:
			go func() { endErr <- tp.ConsumeBatches(ctx, func([]transport.Record) error { return nil }) }()
		case apiBatches, apiBorrowed:
			s := transport.Batches(ctx, tp, transport.ChannelOptions{Buffer: 2, BatchSize: raceBatchSize, Borrow: api == apiBorrowed})
			go func() {
				// Every other batch is held until the next one
				// has arrived and been released: released out of
				// order, and often one batch is out when the
				// consumer is closed or the stream cancelled.
				var held *transport.Batch
				for b := range s.C {
					for _, r := range b.Records {
						got = append(got, seqOf(t, r.Sample))
					}
					if stallReceiver {
						time.Sleep(200 * time.Microsecond)
					}
					if held == nil {
						held = b
						continue
					}
					b.Release()
					for _, r := range held.Records {
						seqOf(t, r.Sample) // still valid
					}
					held.Release()
					held = nil
				}
				endErr <- s.Err()
				if held != nil {
					for _, r := range held.Records {
						seqOf(t, r.Sample) // still valid after the end
					}
					held.Release()
				}
			}()
		}

		time.Sleep(delay)
		var want error
		if byClose {
			want = transport.ErrClosed
			var wg sync.WaitGroup
			closeErrs := make([]error, 2)
			for k := range closeErrs {
				wg.Go(func() { closeErrs[k] = c.Close() })
			}
			within(t, raceWait, "concurrent Close", wg.Wait)
			for _, err := range closeErrs {
				if err != nil {
					t.Fatalf("iteration %d (%s): Close: %v", i, api, err)
				}
			}
		} else {
			want = context.Canceled
			cancel()
		}
		var gotErr error
		within(t, raceWait, "Consume after "+map[bool]string{true: "Close", false: "cancel"}[byClose], func() { gotErr = <-endErr })
		cancel()
		if !errors.Is(gotErr, want) {
			t.Fatalf("iteration %d (%s, delay %v): Consume returned %v, want %v wrapped", i, api, delay, gotErr, want)
		}
		errCounts[gotErr.Error()]++
		within(t, raceWait, "Close after the end", func() { err = c.Close() })
		if err != nil {
			t.Fatalf("iteration %d: Close after the end: %v", i, err)
		}
		if err := c.Consume(context.Background(), func(transport.Record) error { return nil }); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("iteration %d: Consume after Close returned %v, want ErrClosed", i, err)
		}
		close(statsStop)
		if msg := <-statsDone; msg != "" {
			t.Fatalf("iteration %d: %s", i, msg)
		}

		if tp.err != nil {
			t.Fatalf("iteration %d (%s): %v", i, api, tp.err)
		}
		if s := c.Stats(); s.Records != uint64(len(tp.handled)) {
			t.Fatalf("iteration %d (%s): Stats.Records = %d, handler got %d", i, api, s.Records, len(tp.handled))
		}
		handled += uint64(len(tp.handled))
		if api == apiCallback || api == apiBatchHandler {
			continue
		}
		bound := 1
		if api == apiBatches || api == apiBorrowed {
			bound = raceBatchSize
		}
		if len(got) > len(tp.handled) || !slices.Equal(got, tp.handled[:len(got)]) {
			t.Fatalf("iteration %d (%s): receiver got %d records that are not a prefix of the %d handed over", i, api, len(got), len(tp.handled))
		}
		if miss := len(tp.handled) - len(got); miss > bound {
			t.Fatalf("iteration %d (%s): receiver missed %d records at the end, want at most %d", i, api, miss, bound)
		}
		received += uint64(len(got))
		dropped += uint64(len(tp.handled) - len(got))
	}
	stopProducer()
	t.Logf("%d iterations: %d records handed over, channel receivers got %d and missed %d cut short at the end; endings: %v",
		iters, handled, received, dropped, errCounts)

	attempted := streamtest.Attempted(t, p)
	drops, err := p.Dropped()
	if err != nil {
		t.Fatal(err)
	}
	if hc.kind == producer.Perf {
		if handled+drops > attempted {
			t.Fatalf("handed over %d + dropped %d > attempted %d", handled, drops, attempted)
		}
		t.Logf("attempted %d: handed over %d, dropped by the program %d, discarded with the buffers of closed consumers %d",
			attempted, handled, drops, attempted-handled-drops)
		return
	}
	// ringbuf: what is left in the ring goes to one more consumer.
	rest := attempted - drops - handled
	c, err := hc.open(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rest > 0 {
		tp := &tap{Consumer: c, chk: chk}
		ctx, cancel := context.WithTimeout(context.Background(), raceWait)
		defer cancel()
		err := tp.Consume(ctx, func(transport.Record) error {
			if uint64(len(tp.handled)) == rest {
				return streamtest.ErrDone
			}
			return nil
		})
		if !errors.Is(err, streamtest.ErrDone) {
			t.Fatalf("drained %d of the %d records left in the ring: %v", len(tp.handled), rest, err)
		}
		if tp.err != nil {
			t.Fatal(tp.err)
		}
	}
	if missing, some := chk.Missing(attempted); uint64(missing) != drops {
		t.Fatalf("%d of %d seqs never handed over (e.g. %v), but the program dropped %d", missing, attempted, some, drops)
	}
	if s := c.Stats(); s.PendingBytes != 0 {
		t.Fatalf("%d bytes left in the ring", s.PendingBytes)
	}
	t.Logf("attempted %d = handed over %d + left in the ring %d + dropped by the program %d", attempted, handled, rest, drops)
}
