package event_test

import (
	"testing"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// In package event_test: transporttest imports event (Fake.EmitValue).

func TestStatsAddsDecodeErrors(t *testing.T) {
	dec := event.NewExecDecoder()
	fake := transporttest.NewFake(transporttest.FakeOptions{})
	defer fake.Close()
	if _, err := dec.Decode([]byte{1, 2, 3}); err == nil {
		t.Fatal("short sample decoded")
	}
	if got := dec.Stats(fake).DecodeErrors; got != 1 {
		t.Fatalf("DecodeErrors = %d, want 1", got)
	}
}
