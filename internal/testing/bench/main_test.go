package bench_test

import (
	"os"
	"testing"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
)

// TestMain lets the live measurements start this test binary as their
// producer.
func TestMain(m *testing.M) {
	bench.RunProducerChild()
	os.Exit(m.Run())
}
