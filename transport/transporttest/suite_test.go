package transporttest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// The suite is only worth something if it fails consumers that break the
// rules. Each mutant below is a Fake broken in one way; TestSuiteCatchesMutants
// runs the suite against it in a child process (so that its failures do not
// fail this test) and checks that the subtests about that rule fail.

// mutant wraps a Fake; each hook, when set, replaces one method.
type mutant struct {
	*transporttest.Fake
	consume func(m *mutant, ctx context.Context, h transport.Handler) error
	stats   func(m *mutant) transport.Stats
	close   func(m *mutant) error
	kind    transport.Kind
	done    func(m *mutant) <-chan struct{}
	// neverIdle: ConsumeTo never calls the receiver's idle hook.
	neverIdle bool

	closes atomic.Int32
	mu     sync.Mutex
}

func (m *mutant) Consume(ctx context.Context, h transport.Handler) error {
	if m.consume != nil {
		return m.consume(m, ctx, h)
	}
	return m.Fake.Consume(ctx, h)
}

// ConsumeBatches goes through the consume hook too, one record per call.
func (m *mutant) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	if m.consume != nil {
		return m.consume(m, ctx, core.PerRecord(core.BatchReceiver(h).Batch))
	}
	return m.Fake.ConsumeBatches(ctx, h)
}

// ConsumeTo goes through the consume hook too, one record per call, and
// calls the idle hook after each record (unless neverIdle).
func (m *mutant) ConsumeTo(ctx context.Context, r transport.Receiver) error {
	if m.consume == nil && !m.neverIdle {
		return m.Fake.ConsumeTo(ctx, r)
	}
	h := r.Record
	if r.Batch != nil {
		h = core.PerRecord(r.Batch)
	}
	if h == nil {
		return m.Fake.ConsumeTo(ctx, r) // let the Fake report it
	}
	each := func(rec transport.Record) error {
		if err := h(rec); err != nil {
			return err
		}
		if r.Idle == nil || m.neverIdle {
			return nil
		}
		return r.Idle()
	}
	if m.consume == nil {
		return m.Fake.Consume(ctx, each)
	}
	return m.consume(m, ctx, each)
}

func (m *mutant) Stats() transport.Stats {
	if m.stats != nil {
		return m.stats(m)
	}
	return m.Fake.Stats()
}

func (m *mutant) Close() error {
	m.closes.Add(1)
	if m.close != nil {
		return m.close(m)
	}
	return m.Fake.Close()
}

func (m *mutant) Kind() transport.Kind {
	if m.kind != transport.KindUnknown {
		return m.kind
	}
	return m.Fake.Kind()
}

func (m *mutant) Done() <-chan struct{} {
	if m.done != nil {
		return m.done(m)
	}
	return m.Fake.Done()
}

// flatten loses the error chain, keeping the text.
func flatten(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(err.Error())
}

var sink [][]byte

type mutantCase struct {
	// fails lists the subtests that must fail.
	fails []string
	// raceOnly: the failure shows only under the race detector.
	raceOnly bool
	// noRace: the subtest is skipped under the race detector.
	noRace   bool
	capacity int
	setup    func(m *mutant)
}

var mutants = map[string]mutantCase{
	"ReportsUnknownKind": {
		fails: []string{"Kind"},
		setup: func(m *mutant) { m.kind = transport.Kind(99) },
	},
	"DeliversOneTwice": {
		fails: []string{"DeliversInOrder"},
		setup: func(m *mutant) {
			n := 0
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) error {
					if n++; n == 5 {
						if err := h(r); err != nil {
							return err
						}
					}
					return h(r)
				})
			}
		},
	},
	"Reorders": {
		fails: []string{"DeliversInOrder", "DeliversWhileBlocked"},
		setup: func(m *mutant) {
			var held []byte
			var heldRec transport.Record
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) error {
					if held == nil {
						held = bytes.Clone(r.Sample)
						heldRec = r
						return nil
					}
					if err := h(r); err != nil {
						return err
					}
					heldRec.Sample, held = held, nil
					return h(heldRec)
				})
			}
		},
	},
	"MiscountsRecords": {
		fails: []string{"DeliversInOrder", "StatsAfterClose", "HandlerErrorStops"},
		setup: func(m *mutant) {
			m.stats = func(m *mutant) transport.Stats {
				s := m.Fake.Stats()
				if s.Records > 0 {
					s.Records++
				}
				return s
			}
		},
	},
	"LosesCountOfLost": {
		capacity: 64,
		fails:    []string{"LossesAreCounted"},
		setup: func(m *mutant) {
			m.stats = func(m *mutant) transport.Stats {
				s := m.Fake.Stats()
				s.Lost = 0
				return s
			}
		},
	},
	"NeverWakesUp": {
		// Records emitted while Consume waits are seen only by the
		// next Consume.
		fails: []string{"DeliversWhileBlocked", "SecondConsumeIsBusy", "BatchesPartialBatch"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				if m.Fake.Stats().PendingBytes == 0 {
					// Nothing waiting: block as if asleep.
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-m.Fake.Done():
						return transport.ErrClosed
					}
				}
				return m.Fake.Consume(ctx, h)
			}
		},
	},
	"FlattensErrors": {
		fails: []string{"HandlerErrorStops", "CloseUnblocksConsume", "ConsumeAfterClose", "CancelWhileBlocked",
			"DeadlineWhileBlocked", "CancelledBeforeConsume", "SecondConsumeIsBusy", "RecordsChannel", "RecordsChannelClose",
			"BatchesPartialBatch", "BatchesFullBatches"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return flatten(m.Fake.Consume(ctx, h))
			}
		},
	},
	"CallsHandlerAfterError": {
		fails: []string{"HandlerErrorStops"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				var last transport.Record
				var sample []byte
				err := m.Fake.Consume(ctx, func(r transport.Record) error {
					last, sample = r, bytes.Clone(r.Sample)
					return h(r)
				})
				if sample != nil && !errors.Is(err, transport.ErrClosed) && ctx.Err() == nil {
					last.Sample = sample
					_ = h(last)
				}
				return err
			}
		},
	},
	"SwallowsPanics": {
		fails: []string{"HandlerPanicPropagates"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) (err error) {
					defer func() {
						if v := recover(); v != nil {
							err = errors.New("handler panicked")
						}
					}()
					return h(r)
				})
			}
		},
	},
	"CallsNilHandler": {
		fails: []string{"NilHandler"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) error { return h(r) })
			}
		},
	},
	"ClosesLate": {
		fails: []string{"CloseUnblocksConsume"},
		setup: func(m *mutant) {
			m.close = func(m *mutant) error {
				if m.closes.Load() == 1 {
					time.AfterFunc(400*time.Millisecond, func() { _ = m.Fake.Close() })
					return nil
				}
				return m.Fake.Close()
			}
		},
	},
	"CloseTwiceFails": {
		fails: []string{"CloseIsIdempotent"},
		setup: func(m *mutant) {
			m.close = func(m *mutant) error {
				if m.closes.Load() > 1 {
					return errors.New("already closed")
				}
				return m.Fake.Close()
			}
		},
	},
	"ConsumeAfterCloseWaits": {
		fails: []string{"ConsumeAfterClose"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				select {
				case <-m.Fake.Done():
					time.Sleep(2 * 200 * time.Millisecond)
				default:
				}
				return m.Fake.Consume(ctx, h)
			}
		},
	},
	"DoneNeverClosed": {
		fails: []string{"DoneClosedByClose"},
		setup: func(m *mutant) {
			ch := make(chan struct{})
			m.done = func(*mutant) <-chan struct{} { return ch }
		},
	},
	"DoneClosedWhenConsumeEnds": {
		fails: []string{"DoneClosedByClose"},
		setup: func(m *mutant) {
			ch := make(chan struct{})
			var once sync.Once
			m.done = func(*mutant) <-chan struct{} { return ch }
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				defer once.Do(func() { close(ch) })
				return m.Fake.Consume(ctx, h)
			}
		},
	},
	"CancelsLate": {
		fails: []string{"CancelWhileBlocked", "DeadlineWhileBlocked", "CancelledBeforeConsume", "CancelWithCause"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				inner, cancel := context.WithCancel(context.WithoutCancel(ctx))
				defer cancel()
				stop := context.AfterFunc(ctx, func() { time.AfterFunc(300*time.Millisecond, cancel) })
				defer stop()
				return m.Fake.Consume(inner, h)
			}
		},
	},
	"ReturnsCauseOnly": {
		// What core.LoopTo did with context.Cause.
		fails: []string{"CancelWithCause"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				err := m.Fake.Consume(ctx, h)
				if cause := context.Cause(ctx); ctx.Err() != nil && cause != ctx.Err() {
					return cause
				}
				return err
			}
		},
	},
	"LosesRecordOnCancel": {
		fails: []string{"CancelLosesNothing"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				err := m.Fake.Consume(ctx, h)
				if ctx.Err() != nil && m.Fake.Stats().PendingBytes > 0 {
					// Take one record from the queue and hand it
					// to nobody, as a consumer that reads a record
					// and then notices the cancellation would.
					errDiscard := errors.New("discard")
					_ = m.Fake.Consume(context.Background(), func(transport.Record) error { return errDiscard })
				}
				return err
			}
		},
	},
	"SerialisesConsume": {
		fails: []string{"SecondConsumeIsBusy"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				m.mu.Lock()
				defer m.mu.Unlock()
				return m.Fake.Consume(ctx, h)
			}
		},
	},
	"StatsGoBackwards": {
		fails: []string{"StatsConcurrentWithConsume"},
		setup: func(m *mutant) {
			var calls atomic.Int64
			m.stats = func(m *mutant) transport.Stats {
				s := m.Fake.Stats()
				s.Wakeups = 1<<40 - uint64(calls.Add(1))
				return s
			}
		},
	},
	"RacyStats": {
		raceOnly: true,
		fails:    []string{"StatsConcurrentWithConsume"},
		setup: func(m *mutant) {
			var handled uint64 // written by Consume, read by Stats: a data race
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) error {
					handled++
					return h(r)
				})
			}
			m.stats = func(m *mutant) transport.Stats {
				s := m.Fake.Stats()
				if handled == ^uint64(0) {
					s.DecodeErrors++
				}
				return s
			}
		},
	},
	"StatsPanicsAfterClose": {
		fails: []string{"StatsAfterClose"},
		setup: func(m *mutant) {
			m.stats = func(m *mutant) transport.Stats {
				if m.closes.Load() > 0 {
					panic("stats after close")
				}
				return m.Fake.Stats()
			}
		},
	},
	"AllocatesPerRecord": {
		noRace: true,
		fails:  []string{"ZeroAllocsPerRecord"},
		setup: func(m *mutant) {
			m.consume = func(m *mutant, ctx context.Context, h transport.Handler) error {
				return m.Fake.Consume(ctx, func(r transport.Record) error {
					sink = append(sink[:0], bytes.Clone(r.Sample))
					return h(r)
				})
			}
		},
	},
	"NeverIdle": {
		// A ConsumerTo that does not call Receiver.Idle after handing
		// over what was waiting: partial batches wait forever.
		fails: []string{"BatchesPartialBatch"},
		setup: func(m *mutant) { m.neverIdle = true },
	},
	"LeaksGoroutine": {
		fails: []string{"Kind"},
		setup: func(m *mutant) {
			stop := make(chan struct{})
			go func() { <-stop }() // never stopped
		},
	},
}

const mutantEnv = "TRANSPORTTEST_MUTANT"

// TestMutantChild runs the suite against the mutant named by the environment;
// TestSuiteCatchesMutants starts it in a child process.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("runs only as a child of TestSuiteCatchesMutants")
	}
	mc, ok := mutants[name]
	if !ok {
		t.Fatalf("no mutant %q", name)
	}
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			f := transporttest.NewFake(transporttest.FakeOptions{Capacity: mc.capacity})
			m := &mutant{Fake: f}
			mc.setup(m)
			return m, &fakeProducer{f: f}
		},
		Capacity: mc.capacity,
		Kind:     transport.KindFake,
	})
}

var failLine = regexp.MustCompile(`--- FAIL: TestMutantChild/(\S+)`)

func TestSuiteCatchesMutants(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("in a child process")
	}
	names := make([]string, 0, len(mutants))
	for name := range mutants {
		names = append(names, name)
	}
	sort.Strings(names)
	// The children mostly wait for timeouts, so run them all at once.
	type result struct {
		out  []byte
		err  error
		skip string
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		mc := mutants[name]
		switch {
		case mc.raceOnly && !transporttest.RaceEnabled:
			results[i].skip = "fails only under -race"
			continue
		case mc.noRace && transporttest.RaceEnabled:
			results[i].skip = "the subtest is skipped under -race"
			continue
		}
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^("+strings.Join(mc.fails, "|")+")$",
				"-test.count=1", "-test.v", "-test.timeout=2m")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			results[i].out, results[i].err = cmd.CombinedOutput()
		})
	}
	wg.Wait()
	for i, name := range names {
		mc, res := mutants[name], results[i]
		t.Run(name, func(t *testing.T) {
			if res.skip != "" {
				t.Skip(res.skip)
			}
			var exit *exec.ExitError
			if res.err == nil {
				t.Fatalf("the suite passed a consumer that %s:\n%s", name, res.out)
			}
			if !errors.As(res.err, &exit) {
				t.Fatalf("running the child: %v", res.err)
			}
			failed := map[string]bool{}
			for _, m := range failLine.FindAllStringSubmatch(string(res.out), -1) {
				failed[m[1]] = true
			}
			for _, sub := range mc.fails {
				if !failed[sub] {
					t.Errorf("subtest %s passed a consumer that %s", sub, name)
				}
			}
			if t.Failed() {
				t.Logf("child output:\n%s", res.out)
			}
		})
	}
}
