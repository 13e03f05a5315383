package event

import (
	"context"

	"github.com/bpfstream/bpfstream/transport"
)

// DecodeErrorFunc decides what happens to a record that failed to decode. It
// runs on the consuming goroutine. Returning nil skips the record; returning
// an error stops consumption with that error.
type DecodeErrorFunc func(rec transport.Record, err error) error

// Handler returns a [transport.Handler] that decodes each record with dec and
// calls fn with the decoded value and the record.
//
// The *T passed to fn is reused for every record, like Record.Sample: it is
// valid only until fn returns (copy *v to keep it). The returned handler makes
// no allocation per record, and, like every handler, must not be shared by two
// Consume calls running at once.
//
// Decode errors are counted (dec.Errors) and not fatal by default: a record
// that does not decode is skipped when onErr is nil. Otherwise onErr decides:
// its non-nil error stops Consume (wrapped). An error from fn stops Consume.
func Handler[T any](dec *Decoder[T], fn func(v *T, rec transport.Record) error, onErr DecodeErrorFunc) transport.Handler {
	var v T
	return func(rec transport.Record) error {
		if err := dec.DecodeInto(&v, rec.Sample); err != nil {
			if onErr == nil {
				return nil
			}
			return onErr(rec, err)
		}
		return fn(&v, rec)
	}
}

// Item is one decoded record delivered by a Stream.
type Item[T any] struct {
	// Event is the decoded sample; it is the receiver's own copy.
	Event T
	// CPU is the CPU of the record (perfbuf), or [transport.NoCPU].
	CPU int32
	// Source is the index of the record's map ([transport.Record.Source]).
	Source int32
}

// StreamOptions configure [NewStream]. The zero value is valid.
type StreamOptions struct {
	// ChannelOptions configure the stream's channel (Buffer counts events;
	// the batch and chunk options do not apply).
	transport.ChannelOptions
	// OnDecodeError decides about records that fail to decode, as for
	// [Handler]: nil skips them. Either way dec counts them ([Decoder.Errors],
	// [Decoder.Stats]).
	OnDecodeError DecodeErrorFunc
}

// NewStream streams c's records decoded with dec: each [Item] owns its event.
// It is a [transport.Stream], with the same buffering, ending and Err
// semantics as [transport.Records]; Err also reports a decode error that
// OnDecodeError chose to return.
func NewStream[T any](ctx context.Context, c transport.Consumer, dec *Decoder[T], opts StreamOptions) *transport.Stream[Item[T]] {
	return transport.NewStream(ctx, c, opts.ChannelOptions, func(send func(Item[T]) error) transport.Handler {
		return Handler(dec, func(v *T, rec transport.Record) error {
			return send(Item[T]{Event: *v, CPU: rec.CPU, Source: rec.Source})
		}, opts.OnDecodeError)
	})
}
