package event_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/event"
)

type withInt struct {
	Pid int
}

type withString struct {
	Comm string
}

type withSlice struct {
	Args []byte
}

type withPointer struct {
	Next *withPointer
}

// endsWith fails t unless err matches sentinel and its text ends with it,
// once.
func endsWith(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%v: want an error matching %v", err, sentinel)
		return
	}
	if msg := err.Error(); strings.Count(msg, sentinel.Error()) != 1 || !strings.HasSuffix(msg, sentinel.Error()) {
		t.Errorf("%q: want %q once, at the end", msg, sentinel)
	}
}

// TestTypeErrorsSayWhatToUse: NewDecoder's error for a field without a fixed
// size names the Go type and the field, and says what to use instead: a
// sized integer for int, a [N]byte array for string. Before, it named only
// the field's path and kind ("event: event_test.withInt.Pid has kind int").
func TestTypeErrorsSayWhatToUse(t *testing.T) {
	for _, tc := range []struct {
		err  error
		says []string
	}{
		{decoderErr[withInt](), []string{"decode event_test.withInt", "event_test.withInt.Pid has kind int", "int32, int64"}},
		{decoderErr[withString](), []string{"decode event_test.withString", "Comm has kind string", "[N]byte"}},
		{decoderErr[withSlice](), []string{"decode event_test.withSlice", "Args has kind slice", "[N]T array", "NewVarDecoder"}},
		{decoderErr[withPointer](), []string{"decode event_test.withPointer", "Next has kind ptr", "fixed-size types"}},
		{decoderErr[struct{}](), []string{"decode struct {}", "size 0"}},
	} {
		endsWith(t, tc.err, event.ErrUnsupportedType)
		for _, s := range tc.says {
			if !strings.Contains(tc.err.Error(), s) {
				t.Errorf("%q does not say %q", tc.err, s)
			}
		}
	}
	_, err := event.Encode(withString{})
	endsWith(t, err, event.ErrUnsupportedType)
	if err != nil && !strings.Contains(err.Error(), "encode event_test.withString") {
		t.Errorf("%q does not name the type", err)
	}
}

func decoderErr[T any]() error {
	_, err := event.NewDecoder[T]()
	return err
}

// TestSampleErrorsNameTheType: a sample that does not fit is reported with
// the Go type it was decoded as, and the sentinel once, at the end (before:
// "event: short sample: 3 bytes, want at least 8").
func TestSampleErrorsNameTheType(t *testing.T) {
	type hdr struct {
		Seq uint32
		Len uint32
	}
	dec, err := event.NewDecoder[hdr]()
	if err != nil {
		t.Fatal(err)
	}
	_, err = dec.Decode(make([]byte, 3))
	endsWith(t, err, event.ErrShortSample)
	if !strings.Contains(err.Error(), "decode event_test.hdr") || !strings.Contains(err.Error(), "3 bytes, want at least 8") {
		t.Errorf("%q", err)
	}
	vdec, err := event.NewVarDecoder[hdr](event.LengthTail("Len"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = vdec.Decode([]byte{0, 0, 0, 0, 99, 0, 0, 0})
	endsWith(t, err, event.ErrTailLength)
	if !strings.Contains(err.Error(), "decode event_test.hdr") {
		t.Errorf("%q does not name the type", err)
	}
}
