package transporttest

import (
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

// Harness tells [Run] how to test one Consumer implementation.
type Harness struct {
	// New returns a fresh, open consumer and a fresh [Producer] that makes
	// samples arrive in it (its sequence numbers start at 0). Run calls it
	// once per subtest and closes the consumer; New registers cleanups
	// (with t.Cleanup) for anything else it opens, such as the producer
	// and its maps. New fails t (t.Fatal) when it cannot build them, or
	// skips t when the environment cannot run them (no BPF privileges).
	New func(t *testing.T) (transport.Consumer, Producer)
	// Capacity is how many samples the consumer holds without loss when
	// they are produced in one go, before it reads any: its buffer size
	// divided by the room one sample takes in it (per CPU for a per-CPU
	// buffer when the producer uses one CPU). Give a figure a little below
	// the true one: Run produces up to Capacity samples at once when it
	// expects no loss, and 2*Capacity+100 in the subtest that expects
	// losses (which is skipped when Capacity is zero). Zero means no
	// limit; otherwise it must be at least 10.
	Capacity int
	// Kind, when not [transport.KindUnknown], is what the consumer's Kind
	// must report.
	Kind transport.Kind
}

// Producer makes samples arrive in the consumer it was made with. Run calls
// its methods from the test goroutine only, but possibly while Consume runs
// on another.
type Producer interface {
	// Produce makes n samples arrive in the consumer's buffer and returns
	// how many it made: n, or more when the producer cannot help it (the
	// kernel may restart an interrupted BPF_PROG_TEST_RUN), never fewer.
	// It is synchronous: when it returns, each sample is in the buffer,
	// ready to be consumed, or counted in the consumer's Stats.Lost (or
	// will be, once a transport reports it, as perfbuf does after the next
	// write). It fails t (t.Fatal) on error.
	//
	// Each sample carries a sequence number that Seq can read: 0 for the
	// first sample of a producer, then one more for each sample produced,
	// lost ones included.
	Produce(t *testing.T, n int) int
	// Seq returns the sequence number of a sample as the consumer
	// delivers it (with any padding the transport adds), or an error if
	// the sample is malformed.
	Seq(sample []byte) (uint64, error)
}

// Timings of the suite. Promptly is the bound for Consume returning after
// cancellation or Close: the contract says "promptly", and 200 ms is well
// under a second even on a loaded machine.
const (
	promptly     = 200 * time.Millisecond
	settle       = 50 * time.Millisecond // time for Consume to reach its blocking wait
	patience     = 10 * time.Second      // upper bound for things that should take milliseconds
	arrival      = 3 * time.Second       // upper bound for records already in the buffer to arrive
	closeTimeout = 5 * time.Second       // how long cleanup waits for a Consume after Close
)

// minCapacity is the smallest Harness.Capacity the suite can work with.
const minCapacity = 10

// errEnough is what the suite's handlers return to stop Consume once they
// have seen what they wanted.
var errEnough = errors.New("transporttest: suite handler has seen enough")

// Run checks that the consumers h makes honour every rule of the transport
// package's Consumer contract (see the transport package doc), each in a
// subtest with a fresh consumer and producer, and with
// a goroutine leak check at its end. Run it under -race: some subtests only
// fail there. Do not run it in parallel with other tests (t.Parallel): their
// goroutines would count as leaks.
func Run(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("transporttest: Harness.New is nil")
	}
	if h.Capacity < 0 || h.Capacity > 0 && h.Capacity < minCapacity {
		t.Fatalf("transporttest: Harness.Capacity is %d, want 0 or at least %d", h.Capacity, minCapacity)
	}
	for _, st := range []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"Kind", testKind},
		{"DeliversInOrder", testDeliversInOrder},
		{"DeliversWhileBlocked", testDeliversWhileBlocked},
		{"LossesAreCounted", testLossesAreCounted},
		{"HandlerErrorStops", testHandlerErrorStops},
		{"HandlerPanicPropagates", testHandlerPanic},
		{"NilHandler", testNilHandler},
		{"CloseUnblocksConsume", testCloseUnblocks},
		{"CloseFromHandler", testCloseFromHandler},
		{"CloseIsIdempotent", testCloseIdempotent},
		{"ConsumeAfterClose", testConsumeAfterClose},
		{"DoneClosedByClose", testDone},
		{"CancelWhileBlocked", testCancelWhileBlocked},
		{"DeadlineWhileBlocked", testDeadlineWhileBlocked},
		{"CancelWithCause", testCancelWithCause},
		{"CancelledBeforeConsume", testCancelledBefore},
		{"CancelLosesNothing", testCancelLosesNothing},
		{"CancelFromHandler", testCancelFromHandler},
		{"NilContext", testNilContext},
		{"SecondConsumeIsBusy", testBusy},
		{"StatsConcurrentWithConsume", testStatsConcurrent},
		{"StatsAfterClose", testStatsAfterClose},
		{"ZeroAllocsPerRecord", testZeroAllocs},
		{"All", testAll},
		{"RecordsChannel", testRecordsChannel},
		{"RecordsChannelClose", testRecordsChannelClose},
		{"BatchesPartialBatch", testBatchesPartial},
		{"BatchesFullBatches", testBatchesFull},
		{"BatchesBorrowed", testBatchesBorrowed},
		{"BatchesCloseWithBatchesOut", testBatchesCloseWithBatchesOut(false)},
		{"BatchesBorrowedCloseWithBatchesOut", testBatchesCloseWithBatchesOut(true)},
		{"BatchesCancelWithBatchesOut", testBatchesCancelWithBatchesOut(false)},
		{"BatchesBorrowedCancelWithBatchesOut", testBatchesCancelWithBatchesOut(true)},
		{"BatchHandler", testBatchHandler},
		{"BatchHandlerZeroAllocs", testBatchHandlerZeroAllocs},
	} {
		t.Run(st.name, func(t *testing.T) {
			st.f(t, newEnv(t, h))
		})
	}
}

// env is one subtest's consumer and producer.
