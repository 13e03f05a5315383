package perfbuf_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
)

// TestSecondConsumerRefused: while a consumer of a perf event array is open,
// a second consumer of the same map in this process (either backend, also
// through another handle on the map) is refused with an error that matches
// transport.ErrInUse and names the map, and the first keeps its entries: it
// receives every sample. Once the first is closed, a new one opens.
func TestSecondConsumerRefused(t *testing.T) {
	const perCPU = 100
	for _, first := range readers {
		for _, second := range readers {
			t.Run(first.name+"_then_"+second.name, func(t *testing.T) {
				p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
				c, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: first.reader})
				require.NoError(t, err)

				_, err = perfbuf.New(p.Map(), perfbuf.Options{Backend: second.reader})
				streamtest.RequireInUse(t, err, p.Map())
				clone, err := p.Map().Clone()
				require.NoError(t, err)
				defer clone.Close()
				_, err = perfbuf.New(clone, perfbuf.Options{Backend: second.reader})
				streamtest.RequireInUse(t, err, p.Map())

				require.NoError(t, p.RunParallel(producer.AllCPUs(), perCPU))
				require.Zero(t, dropped(t, p), "the refused consumer took entries")
				streamtest.ConsumeAll(t, c, streamtest.Attempted(t, p))
				require.NoError(t, c.Close())

				next, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: second.reader})
				require.NoError(t, err, "a consumer opened after Close")
				require.NoError(t, next.Close())
			})
		}
	}
}
