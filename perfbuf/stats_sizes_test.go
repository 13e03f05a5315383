package perfbuf_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
)

// TestLostPerCPUHasOneEntryPerCPU: Stats.LostPerCPU has one entry per
// online CPU up to the last, whatever the map's size.
func TestLostPerCPUHasOneEntryPerCPU(t *testing.T) {
	online, err := os.ReadFile("/sys/devices/system/cpu/online")
	require.NoError(t, err)
	last := strings.TrimSpace(string(online))
	last = last[strings.LastIndexAny(last, ",-")+1:]
	n, err := strconv.Atoi(last)
	require.NoError(t, err)
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			c, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader})
			require.NoError(t, err)
			defer c.Close()
			require.Len(t, c.Stats().LostPerCPU, n+1)
		})
	}
}

// TestClosedConsumerHoldsNoBuffers: BufferBytes is the kernel memory the
// consumer holds, which Close releases (before, a closed consumer still
// reported its buffers).
func TestClosedConsumerHoldsNoBuffers(t *testing.T) {
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			p := streamtest.Load(t, producer.Config{Kind: producer.Perf})
			c, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader})
			require.NoError(t, err)
			require.NotZero(t, c.Stats().BufferBytes)
			require.NoError(t, c.Close())
			require.Zero(t, c.Stats().BufferBytes)
		})
	}
}
