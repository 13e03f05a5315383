package transporttest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// TestFakeRefusesInvalidOptions: a negative Capacity was silently taken as
// no bound; now a Fake with invalid options fails every Emit and Consume
// with an error naming the field.
func TestFakeRefusesInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		opts transporttest.FakeOptions
		says string
	}{
		{transporttest.FakeOptions{Capacity: -1}, "FakeOptions.Capacity is -1"},
		{transporttest.FakeOptions{Kind: 42}, "FakeOptions.Kind is unknown(42)"},
	} {
		f := transporttest.NewFake(tc.opts)
		for name, err := range map[string]error{
			"Emit":           f.Emit([]byte{1}),
			"EmitLost":       f.EmitLost(1),
			"Consume":        f.Consume(context.Background(), func(transport.Record) error { return nil }),
			"ConsumeBatches": f.ConsumeBatches(context.Background(), func([]transport.Record) error { return nil }),
		} {
			if !errors.Is(err, transport.ErrInvalidOptions) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s with %+v: %v, want ErrInvalidOptions saying %q", name, tc.opts, err, tc.says)
			}
		}
		if s := f.Stats(); s.Lost != 0 || s.Records != 0 {
			t.Errorf("%+v: counted %+v", tc.opts, s)
		}
		f.Close()
	}
}
