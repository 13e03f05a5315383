package perfbuf_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/internal/testing/unpriv"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// handoverTrials is how many times the handover tests close a consumer and
// open the next one on the same map.
const handoverTrials = 100

// TestHandoverAfterClose: a consumer is closed while its Consume runs, and
// the next one is opened on the same map right after Close returns, 100
// times. When Close has returned, the closed consumer's entries are out of
// the map (writes fail rather than land in its buffers), and the next
// consumer receives every sample written after it opened: no write fails.
// Run as root (CAP_SYS_ADMIN: each consumer has a map file of its own).
func TestHandoverAfterClose(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) { handoverTrialsOn(t, rd.reader) })
	}
}

// TestHandoverAfterCloseWithoutSysAdmin is TestHandoverAfterClose as nobody
// with only CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH: a consumer cannot
// open the map by ID then and deletes its entries itself.
func TestHandoverAfterCloseWithoutSysAdmin(t *testing.T) {
	if unpriv.Child() {
		TestHandoverAfterClose(t)
		return
	}
	privileged.Require(t)
	out := unpriv.RunCaps(t, "TestHandoverAfterCloseWithoutSysAdmin", []string{"bpf", "perfmon", "dac_read_search"}, 5*time.Minute)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "handover_test.go") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func handoverTrialsOn(t *testing.T, backend perfbuf.Backend) {
	const perCPU = 20
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
	cpus := producer.AllCPUs()
	c, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: backend})
	require.NoError(t, err)
	for trial := 0; trial < handoverTrials; trial++ {
		// The closed consumer's Consume is running: Close wakes it, and
		// its reader leaves after Close has returned.
		consumed := make(chan error, 1)
		go func(c *perfbuf.Consumer) {
			consumed <- c.Consume(context.Background(), func(transport.Record) error { return nil })
		}(c)
		require.NoError(t, p.RunParallel(cpus, perCPU))
		require.NoError(t, c.Close())

		before := dropped(t, p)
		require.NoError(t, p.RunParallel(cpus, perCPU))
		require.Equal(t, before+uint64(perCPU*len(cpus)), dropped(t, p),
			"trial %d: a write after Close landed in the closed consumer's buffers", trial)

		start := streamtest.Attempted(t, p)
		next, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: backend})
		require.NoError(t, err, "trial %d", trial)
		droppedBefore := dropped(t, p)
		require.NoError(t, p.RunParallel(cpus, perCPU))
		require.Equal(t, droppedBefore, dropped(t, p), "trial %d: a write failed with the next consumer open", trial)
		seen := seqCounter{}
		seen.drainRest(t, next, uint64(perCPU*len(cpus)))
		for seq, n := range seen {
			require.GreaterOrEqual(t, seq, start, "trial %d: a sample from before the consumer opened", trial)
			require.Equal(t, 1, n, "trial %d: seq %d", trial, seq)
		}
		if err := <-consumed; !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("trial %d: Consume of the closed consumer: %v", trial, err)
		}
		c = next
	}
	require.NoError(t, c.Close())
}
