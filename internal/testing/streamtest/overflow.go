package streamtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/transport"
)

// Overflow runs the producer on every CPU, perCPU samples each, into c while
// the handler stalls now and then, so the buffers overflow. It then checks
// that delivered + lost == attempted exactly and that no seq arrived twice,
// and returns the final Stats.
//
// perfbuf reports a loss only with the next successful write to the same
// CPU's buffer, so once the consumer has drained everything one more sample
// is produced on every CPU (and counted).
func Overflow(tb testing.TB, p *producer.Producer, c transport.Consumer, perCPU int) transport.Stats {
	tb.Helper()
	cpus := producer.AllCPUs()
	chk := Checker{Unordered: true}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	consumed := make(chan error, 1)
	go func() {
		n := 0
		consumed <- c.Consume(ctx, func(r transport.Record) error {
			if n++; n%64 == 0 {
				time.Sleep(200 * time.Microsecond) // a consumer that stalls
			}
			return chk.Add(r)
		})
	}()
	if err := p.RunParallel(cpus, perCPU); err != nil {
		tb.Fatalf("produce: %v", err)
	}

	settled := func() bool {
		prev := c.Stats().Records
		time.Sleep(50 * time.Millisecond)
		return c.Stats().Records == prev
	}
	for !settled() {
	}
	if c.Kind() == transport.KindPerfbuf {
		if err := p.RunParallel(cpus, 1); err != nil {
			tb.Fatalf("produce the last sample: %v", err)
		}
	}
	attempted := Attempted(tb, p)
	var s transport.Stats
	for deadline := time.Now().Add(30 * time.Second); ; {
		s = c.Stats()
		if s.Records+s.Lost >= attempted || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-consumed; !errors.Is(err, context.Canceled) {
		tb.Fatalf("consume: %v", err)
	}
	s = c.Stats()
	if s.Records+s.Lost != attempted {
		tb.Fatalf("delivered %d + lost %d != attempted %d", s.Records, s.Lost, attempted)
	}
	if s.Lost == 0 {
		tb.Fatalf("no loss: the buffers are too large for an overflow test")
	}
	if chk.Count() != s.Records {
		tb.Fatalf("checker saw %d records, Stats says %d", chk.Count(), s.Records)
	}
	return s
}
