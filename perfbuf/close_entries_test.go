package perfbuf_test

import (
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

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

// TestCloseKeepsNewerEntries: a consumer in another process may replace the
// entries of a consumer open here (in this process a second consumer is
// refused); closing this one afterwards leaves the newer entries in place.
// The test plays the other process, installing perf events of its own.
// (This needs a map file of the consumer's own, opened by ID with
// CAP_SYS_ADMIN; without it Close deletes the entries it installed whoever
// holds them now.)
func TestCloseKeepsNewerEntries(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			older, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader})
			require.NoError(t, err)
			cpus := producer.AllCPUs()
			for _, cpu := range cpus {
				fd := openOutputEvent(t, cpu)
				require.NoError(t, p.Map().Put(uint32(cpu), uint32(fd)))
			}
			require.NoError(t, older.Close())
			for _, cpu := range cpus {
				require.NoError(t, p.Map().Delete(uint32(cpu)), "closing the older consumer removed CPU %d's newer entry", cpu)
			}
		})
	}
}

// openOutputEvent opens a BPF output perf event on cpu, closed when the
// test ends.
func openOutputEvent(t *testing.T, cpu int) int {
	t.Helper()
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_SOFTWARE,
		Config:      unix.PERF_COUNT_SW_BPF_OUTPUT,
		Sample_type: unix.PERF_SAMPLE_RAW,
	}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, -1, cpu, -1, unix.PERF_FLAG_FD_CLOEXEC)
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Close(fd) })
	return fd
}
