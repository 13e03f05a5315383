package perfbuf_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// snapshotSeqs takes a snapshot and returns its seqs, checking that they are
// consecutive and oldest first.
func snapshotSeqs(t *testing.T, r *perfbuf.FlightRecorder) []uint64 {
	t.Helper()
	recs, err := r.Snapshot()
	require.NoError(t, err)
	seqs := make([]uint64, len(recs))
	for i, rec := range recs {
		require.Equal(t, int32(0), rec.CPU)
		h, err := producer.ParseHeader(rec.Sample)
		require.NoError(t, err)
		seqs[i] = h.Seq
		if i > 0 {
			require.Equal(t, seqs[i-1]+1, h.Seq, "snapshot must hold the newest samples, in order")
		}
	}
	return seqs
}

func TestFlightRecorderKeepsNewest(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 128})
	r, err := perfbuf.NewFlightRecorder(p.Map(), 4096)
	require.NoError(t, err)
	defer r.Close()

	require.NoError(t, p.Run(0, 1000))
	seqs := snapshotSeqs(t, r)
	require.NotEmpty(t, seqs)
	require.Less(t, len(seqs), 1000, "a 4 KiB buffer cannot hold 1000 samples of 128 bytes")
	require.Equal(t, streamtest.Attempted(t, p)-1, seqs[len(seqs)-1], "the newest sample is kept")

	// The next snapshot holds only what was written since.
	require.NoError(t, p.Run(0, 5))
	seqs = snapshotSeqs(t, r)
	require.Len(t, seqs, 5)
	require.Equal(t, streamtest.Attempted(t, p)-1, seqs[4])

	require.NoError(t, r.Close())
	require.NoError(t, r.Close())
	_, err = r.Snapshot()
	require.ErrorIs(t, err, transport.ErrClosed)
}
