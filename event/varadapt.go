package event

import (
	"context"

	"github.com/bpfstream/bpfstream/internal/arena"
	"github.com/bpfstream/bpfstream/transport"
)

// VarHandler returns a [transport.Handler] that decodes each record with dec
// and calls fn with the header and the tail, like [Handler].
//
// Both are borrowed: the *H is reused for every record and the tail is a
// sub-slice of Record.Sample, so both are valid only until fn returns (copy
// what you keep). The returned handler makes no allocation per record.
// Decode errors are counted (dec.Errors) and handled by onErr as in Handler:
// nil skips the record.
func VarHandler[H any](dec *VarDecoder[H], fn func(h *H, tail []byte, rec transport.Record) error, onErr DecodeErrorFunc) transport.Handler {
	var h H
	return func(rec transport.Record) error {
		tail, err := dec.DecodeInto(&h, rec.Sample)
		if err != nil {
			if onErr == nil {
				return nil
			}
			return onErr(rec, err)
		}
		return fn(&h, tail, rec)
	}
}

// VarItem is one decoded variable-length record delivered by a var stream.
type VarItem[H any] struct {
	// Header is the decoded header; it is the receiver's own copy.
	Header H
	// Tail is the receiver's own copy of the tail (its capacity capped, so
	// appending to it copies).
	Tail []byte
	// CPU is the CPU of the record (perfbuf), or [transport.NoCPU].
	CPU int32
	// Source is the index of the record's map ([transport.Record.Source]).
	Source int32
}

// NewVarStream streams c's records decoded with dec, like [NewStream]. The
// tails are copied into shared chunks of ChannelOptions.ChunkBytes (256 KiB
// by default), as [transport.Records] copies samples, so owning them does not
// cost an allocation per record; a tail that the receiver keeps keeps its
// chunk alive.
func NewVarStream[H any](ctx context.Context, c transport.Consumer, dec *VarDecoder[H], opts StreamOptions) *transport.Stream[VarItem[H]] {
	return transport.NewStream(ctx, c, opts.ChannelOptions, func(send func(VarItem[H]) error) transport.Handler {
		a := arena.Bytes{Chunk: opts.ChunkBytes}
		return VarHandler(dec, func(h *H, tail []byte, rec transport.Record) error {
			return send(VarItem[H]{Header: *h, Tail: a.Copy(tail), CPU: rec.CPU, Source: rec.Source})
		}, opts.OnDecodeError)
	})
}
