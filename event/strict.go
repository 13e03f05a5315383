package event

import (
	"errors"
	"fmt"

	"github.com/bpfstream/bpfstream/transport"
)

// ErrSampleSize matches (errors.Is) every *SampleSizeError.
var ErrSampleSize = errors.New("event: sample size mismatch")

// SampleSizeError is returned by a strict [Decoder] for a sample longer than
// the decoded type plus the transport's padding: the C struct the program
// writes is larger than T (or the program writes something else).
type SampleSizeError struct {
	// Got is the length of the sample; Want is the length a sample of the
	// type has on the transport (its size plus the transport's padding).
	Got, Want int
	// Type is the Go type decoded (as reflect.Type.String gives it).
	Type string
}

// Error names the type and says both sizes.
func (e *SampleSizeError) Error() string {
	return fmt.Sprintf("%s: the sample has %d bytes, want exactly %d; does the program write this type? %s",
		decoding(e.Type), e.Got, e.Want, ErrSampleSize)
}

// Is reports whether target is [ErrSampleSize].
func (e *SampleSizeError) Is(target error) bool { return target == ErrSampleSize }

// Option configures a [Decoder] built by [NewDecoder].
type Option func(*options) error

type options struct {
	strict bool
	kind   transport.Kind
}

// Strict makes the [Decoder] refuse every sample whose length is not the
// length a T has on transport kind, counting it in Errors (and so in
// Stats.DecodeErrors): a Go struct smaller or larger than the C struct is then
// caught at the first sample. perfbuf (KindPerfbuf) pads each sample so that
// it ends on 8 bytes after its 4-byte size field, so the length must be
// Size()+4 rounded up to a multiple of 8, minus 4; ringbuf (KindRingbuf) and
// the fake consumer (KindFake) deliver exactly what was written, so the length
// must be Size(). A perfbuf decoder cannot tell a sample up to 7 bytes
// shorter than T apart from T when both pad to the same length: the kernel
// does not keep the unpadded size. Any other kind is an error matching
// [transport.ErrInvalidOptions].
func Strict(kind transport.Kind) Option {
	return func(o *options) error {
		switch kind {
		case transport.KindPerfbuf, transport.KindRingbuf, transport.KindFake:
		default:
			return fmt.Errorf("event: strict decoding for transport %s: %w", kind, transport.ErrInvalidOptions)
		}
		o.strict, o.kind = true, kind
		return nil
	}
}

// parseOptions applies opts, skipping nil ones.
func parseOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// transportLen is the length a sample of size bytes has on kind.
func transportLen(kind transport.Kind, size int) int {
	if kind == transport.KindPerfbuf {
		return (size+4+7)&^7 - 4
	}
	return size
}

// checkLen returns the error for a sample of n bytes, nil when it decodes.
func (d *Decoder[T]) checkLen(n int) error {
	if n < d.size {
		return &ShortSampleError{Got: n, Want: d.size, Type: d.name}
	}
	if d.exact > 0 && n != d.exact {
		return &SampleSizeError{Got: n, Want: d.exact, Type: d.name}
	}
	return nil
}
