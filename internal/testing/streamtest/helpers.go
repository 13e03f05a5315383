package streamtest

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/transport"
)

// ErrDone is what ConsumeAll's handler returns to end Consume once every
// expected record has arrived.
var ErrDone = errors.New("streamtest: got every record")

// Load loads the test producer, skipping (or failing, in CI) without BPF
// privileges, and closes it when the test ends.
func Load(tb testing.TB, cfg producer.Config) *producer.Producer {
	tb.Helper()
	privileged.Require(tb)
	p, err := producer.Load(cfg)
	if err != nil {
		tb.Fatalf("load producer: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

// ConsumeAll consumes c until want records have arrived, checking each, and
// fails tb on any problem or after a minute.
func ConsumeAll(tb testing.TB, c transport.Consumer, want uint64) *Checker {
	tb.Helper()
	var chk Checker
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.Consume(ctx, func(r transport.Record) error {
		if err := chk.Add(r); err != nil {
			return err
		}
		if chk.Count() == want {
			return ErrDone
		}
		return nil
	})
	if !errors.Is(err, ErrDone) {
		tb.Fatalf("consumed %d of %d records: %v", chk.Count(), want, err)
	}
	if missing, some := chk.Missing(want); missing > 0 {
		tb.Fatalf("%d seqs missing, e.g. %v", missing, some)
	}
	return &chk
}

// Attempted returns how many samples the producer attempted.
func Attempted(tb testing.TB, p *producer.Producer) uint64 {
	tb.Helper()
	n, err := p.Attempted()
	if err != nil {
		tb.Fatalf("read attempted count: %v", err)
	}
	return n
}

// ConsumeAllocs consumes want records (already produced) with a handler that
// only counts, and returns the heap allocations the whole Consume call made.
// A callback path without per-record allocations makes a small constant
// number, whatever want is.
func ConsumeAllocs(tb testing.TB, c transport.Consumer, want uint64) uint64 {
	tb.Helper()
	var got uint64
	handler := func(transport.Record) error {
		if got++; got == want {
			return ErrDone
		}
		return nil
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := c.Consume(context.Background(), handler)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrDone) {
		tb.Fatalf("consumed %d of %d records: %v", got, want, err)
	}
	allocs := after.Mallocs - before.Mallocs
	tb.Logf("%d allocations for %d records", allocs, want)
	return allocs
}
