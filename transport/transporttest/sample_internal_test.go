package transporttest

import (
	"testing"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// The public sizes are the producer program's, written out so that go doc
// shows their values.
func TestSampleSizesMatchTheProducer(t *testing.T) {
	if SampleHeaderSize != producer.HeaderSize || MaxSampleSize != producer.MaxSample {
		t.Errorf("SampleHeaderSize %d, MaxSampleSize %d; the producer has %d and %d", SampleHeaderSize, MaxSampleSize, producer.HeaderSize, producer.MaxSample)
	}
}
