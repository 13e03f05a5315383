package transporttest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// rec builds the record a consumer delivers for sample seq emitted on cpu;
// recCPU is the CPU the record claims (transport.NoCPU for ringbuf).
func rec(t *testing.T, seq uint64, cpu uint32, recCPU int) transport.Record {
	t.Helper()
	b, err := event.Encode(transporttest.SampleHeader{Seq: seq, CPU: cpu, Size: transporttest.SampleHeaderSize})
	if err != nil {
		t.Fatal(err)
	}
	return transport.Record{Sample: b, CPU: int32(recCPU)}
}

func TestCheckerAcceptsGoodStreams(t *testing.T) {
	var c transporttest.Checker
	// Two CPUs interleaved, each in order; seq 4 lost.
	for _, r := range []transport.Record{rec(t, 0, 0, 0), rec(t, 2, 1, 1), rec(t, 1, 0, 0), rec(t, 3, 1, 1), rec(t, 5, 1, transport.NoCPU)} {
		if err := c.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Check(6, 1); err != nil {
		t.Fatal(err)
	}
	if c.Count() != 5 {
		t.Fatalf("Count %d", c.Count())
	}
}

func TestCheckerCatches(t *testing.T) {
	for _, c := range []struct {
		name           string
		seqs           []uint64 // emitted on CPU 0
		produced, lost uint64
		want           error
		says           string
	}{
		{"duplicate", []uint64{0, 1, 1, 2}, 3, 0, transporttest.ErrDuplicate, "seq 1"},
		{"gap not lost", []uint64{0, 2}, 3, 0, transporttest.ErrMissing, "1 missing (e.g. [1])"},
		{"gap beyond lost", []uint64{0, 3}, 4, 1, transporttest.ErrMissing, "2 missing"},
		{"more lost than missing", []uint64{0, 1, 2}, 3, 1, transporttest.ErrMissing, "0 missing"},
		{"tail missing", []uint64{0, 1}, 5, 0, transporttest.ErrMissing, "3 missing (e.g. [2 3 4])"},
		{"order", []uint64{0, 2, 1}, 3, 0, transporttest.ErrOutOfOrder, "seq 1 after 2 on CPU 0"},
		{"beyond produced", []uint64{0, 1, 7}, 2, 0, transporttest.ErrMalformed, "seq 7 delivered, but only 2 produced"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var chk transporttest.Checker
			for _, seq := range c.seqs {
				_ = chk.Add(rec(t, seq, 0, transport.NoCPU))
			}
			err := chk.Check(c.produced, c.lost)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("Check: %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

func TestCheckerAddReports(t *testing.T) {
	var c transporttest.Checker
	if err := c.Add(rec(t, 0, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(rec(t, 0, 1, 1)); !errors.Is(err, transporttest.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := c.Add(rec(t, 1, 1, 2)); !errors.Is(err, transporttest.ErrMalformed) {
		t.Fatalf("wrong CPU: %v", err)
	}
	if err := c.Add(transport.Record{Sample: []byte{1, 2, 3}, CPU: transport.NoCPU}); !errors.Is(err, transporttest.ErrMalformed) {
		t.Fatalf("short record: %v", err)
	}
	if err := c.Add(rec(t, 5, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(rec(t, 4, 1, transport.NoCPU)); !errors.Is(err, transporttest.ErrOutOfOrder) {
		t.Fatalf("order: %v", err)
	}
	// Order is per emitting CPU: another CPU may be behind.
	if err := c.Add(rec(t, 2, 0, transport.NoCPU)); err != nil {
		t.Fatal(err)
	}
	err := c.Err()
	for _, want := range []error{transporttest.ErrDuplicate, transporttest.ErrMalformed, transporttest.ErrOutOfOrder} {
		if !errors.Is(err, want) {
			t.Errorf("Err %v does not match %v", err, want)
		}
	}
	if !strings.Contains(err.Error(), "2 times") {
		t.Errorf("Err %q does not count the two malformed records", err)
	}
	if !errors.Is(c.Check(6, 2), transporttest.ErrDuplicate) {
		t.Error("Check drops the problems Add saw")
	}
}
