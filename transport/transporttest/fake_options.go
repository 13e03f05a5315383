package transporttest

import (
	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// FakeOptions configure a [Fake]. The zero value is valid. NewFake has no error
// result: a Fake built with invalid options (a negative Capacity, a Kind
// that is none of transport's) fails every Emit, EmitRecord, EmitLost,
// Consume and ConsumeBatches with an error matching
// transport.ErrInvalidOptions that names the field.
type FakeOptions struct {
	// Kind is what Fake.Kind reports. Zero means transport.KindFake; set
	// transport.KindPerfbuf or KindRingbuf to exercise code that looks at
	// the kind. It changes nothing else: the CPU of each record is what
	// the test emits.
	Kind transport.Kind
	// Capacity bounds how many samples may wait to be consumed, like the
	// size of a kernel buffer; as there, a sample stops taking room when
	// it is handed to a handler. When that many are waiting, Emit drops the
	// sample, counts it in Stats.Lost and returns ErrFull. Zero means no
	// bound: Emit then never blocks and never drops, and the samples
	// waiting cost memory until they are consumed.
	Capacity int
	// KeepLentBytes turns off poisoning. By default, once a handler
	// returns, the Fake overwrites the bytes it lent in Record.Sample with
	// 0xA5, so that a handler that keeps Record.Sample (instead of copying
	// it) sees garbage at once, as it would under load with a real
	// transport.
	KeepLentBytes bool
}

// check returns why o is invalid, nil when it is valid.
func (o FakeOptions) check() error {
	bad := func(field string, value any, want string) error {
		return core.BadOption("transporttest: fake", "FakeOptions."+field, value, want)
	}
	if o.Capacity < 0 {
		return bad("Capacity", o.Capacity, "0 (no bound) or more")
	}
	if o.Kind < transport.KindUnknown || o.Kind > transport.KindFake {
		return bad("Kind", o.Kind, "0 (KindFake), KindPerfbuf, KindRingbuf or KindFake")
	}
	return nil
}
