package transporttest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

// transport.All ranges over every record in order, counts the record the
// loop breaks on as delivered, and, with nothing left, ends when the context
// does, on one last pair that holds the context's error.
func testAll(t *testing.T, e *env) {
	n := e.produce(t, e.batch(1000))
	ctx, cancel := context.WithTimeout(context.Background(), arrival)
	defer cancel()
	var recs []rec
	var problem error
	for r, err := range transport.All(ctx, e.c) {
		if err != nil {
			problem = fmt.Errorf("transport.All ended with %w after %d of %d records", err, len(recs), n)
			break
		}
		got, err := e.rec(r)
		if err != nil {
			problem = err
			break
		}
		if recs = append(recs, got); len(recs) == n {
			break
		}
	}
	if problem != nil {
		t.Fatal(problem)
	}
	e.checkRecords(t, recs, true)
	e.checkStats(t, recs)

	ctx, cancel = context.WithTimeout(context.Background(), settle)
	defer cancel()
	var pairs, records int
	var last error
	for _, err := range transport.All(ctx, e.c) {
		pairs++
		if err == nil {
			records++
		}
		last = err
	}
	if pairs != 1 || records != 0 || !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("All after the last record: %d pairs, %d records, last error %v; want one pair with DeadlineExceeded wrapped", pairs, records, last)
	}
}
