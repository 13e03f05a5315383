package perfbuf_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestCloseCountsPendingLosses: bursts overflow 8 KiB per-CPU buffers while
// a slow Consume runs, then the consumer is closed, 10 times. The kernel
// reports the samples it could not write only with its next successful
// write to the same buffer, so at Close some losses are still unreported:
// Close reads them from the kernel, and once Consume has returned, delivered
// + lost is exactly what the program wrote, with LostKnown true (the native
// reader, on Linux 6.0 or later). The cilium/ebpf reader cannot tell what
// its closed buffers held and reports LostKnown false after Close.
func TestCloseCountsPendingLosses(t *testing.T) {
	const trials, bursts, perBurst = 10, 5, 2000
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			for trial := 0; trial < trials; trial++ {
				p := streamtest.Load(t, producer.Config{Kind: producer.Perf, SampleSize: 64})
				c, err := perfbuf.New(p.Map(), perfbuf.Options{Backend: rd.reader, PerCPUBytes: 8 << 10})
				require.NoError(t, err)
				consumed := make(chan error, 1)
				go func() {
					n := 0
					consumed <- c.Consume(context.Background(), func(transport.Record) error {
						if n++; n%64 == 0 {
							time.Sleep(200 * time.Microsecond) // a consumer that stalls
						}
						return nil
					})
				}()
				for b := 0; b < bursts; b++ {
					require.NoError(t, p.RunParallel(producer.AllCPUs(), perBurst))
					time.Sleep(time.Millisecond)
				}
				require.NoError(t, c.Close())
				if err := <-consumed; !errors.Is(err, transport.ErrClosed) {
					t.Fatalf("Consume: %v", err)
				}
				attempted, failed := streamtest.Attempted(t, p), dropped(t, p)
				s := c.Stats()
				t.Logf("trial %d: %d written (%d refused), %d delivered, %d lost, LostKnown %v", trial, attempted, failed, s.Records, s.Lost, s.LostKnown)
				require.NotZero(t, failed, "no write was refused: the buffers are too large for this test")
				if rd.reader == perfbuf.BackendCilium {
					require.False(t, s.LostKnown, "the cilium/ebpf reader drops unread samples at Close uncounted")
					continue
				}
				require.True(t, s.LostKnown)
				require.Equal(t, attempted, s.Records+s.Lost, "trial %d: delivered %d + lost %d", trial, s.Records, s.Lost)
			}
		})
	}
}
