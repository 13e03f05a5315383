package perfbuf_test

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
)

// dropped returns how many samples the producer failed to write.
func dropped(t *testing.T, p *producer.Producer) uint64 {
	t.Helper()
	n, err := p.Dropped()
	require.NoError(t, err)
	return n
}

// TestCloseRemovesEntries: Close takes the consumer's perf events out of the
// map, although the map itself stays open, so that the program's writes fail
// (and it can count them) instead of landing in buffers nobody reads, and a
// new consumer on the same map gets exactly the samples written after it
// opened.
func TestCloseRemovesEntries(t *testing.T) {
	const perCPU = 100
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			cpus := producer.AllCPUs()
			first, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader})
			require.NoError(t, err)
			require.NoError(t, first.Close())

			require.NoError(t, p.RunParallel(cpus, perCPU))
			closedRun := streamtest.Attempted(t, p)
			require.Equal(t, uint64(perCPU*len(cpus)), closedRun)
			require.Equal(t, closedRun, dropped(t, p), "writes after Close must fail")
			// The entries themselves are gone: deleting one finds
			// nothing. (Left installed, they would keep the closed
			// consumer's perf events alive for as long as the map.)
			for _, cpu := range cpus {
				require.ErrorIs(t, p.Map().Delete(uint32(cpu)), ebpf.ErrKeyNotExist, "CPU %d's entry is still installed after Close", cpu)
			}

			second := newConsumer(t, p, perfbuf.Options{Backend: rd.reader})
			require.NoError(t, p.RunParallel(cpus, perCPU))
			attempted := streamtest.Attempted(t, p)
			require.Equal(t, closedRun, dropped(t, p), "no write fails with a consumer open")
			seen := seqCounter{}
			seen.drainRest(t, second, attempted-closedRun)
			for seq, n := range seen {
				require.GreaterOrEqual(t, seq, closedRun, "the second consumer got a sample from before it opened")
				require.Equal(t, 1, n, "seq %d", seq)
			}
			require.Equal(t, attempted-closedRun, second.Stats().Records)
		})
	}
}

// TestCloseKeepsNewerEntries: a consumer opened on a map while an older one
// is still open replaces the older one's entries; closing the older one
// afterwards leaves the newer one's in place. (This needs a map file of the
// consumer's own, opened by ID with CAP_SYS_ADMIN; without it Close deletes
// the entries it installed whoever holds them now.)
func TestCloseKeepsNewerEntries(t *testing.T) {
	const perCPU = 100
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			older, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader})
			require.NoError(t, err)
			newer := newConsumer(t, p, perfbuf.Options{Backend: rd.reader})
			require.NoError(t, older.Close())

			require.NoError(t, p.RunParallel(producer.AllCPUs(), perCPU))
			attempted := streamtest.Attempted(t, p)
			require.Zero(t, dropped(t, p), "closing the older consumer removed the newer one's entries")
			streamtest.ConsumeAll(t, newer, attempted)
		})
	}
}
