package event

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstream/bpfstream/transport"
)

// BTFOptions configure a BTFDecoder. The zero value decodes records of
// any transport with the default tail rule.
type BTFOptions struct {
	// Transport is the transport the records come from: a record longer
	// than the type plus the padding this transport adds is an error.
	// KindRingbuf and KindFake add none; KindPerfbuf and KindUnknown (the
	// default) accept up to 7 bytes.
	Transport transport.Kind
	// Tail says where the variable area that ends the type (its last
	// member, an array) ends. The zero Tail cuts that array to the bytes
	// the record has: RemainingTail. LengthTail and SizeTail name a
	// member of the type by its dotted C path ("hdr.len") holding the
	// area's length in bytes or the record's size.
	Tail Tail
}

// BTFDecoder writes records laid out as a BTF type (a struct, usually) as
// JSON, and reads single fields of them, without a Go type that mirrors
// the C one: the BTF that every BPF object and the kernel carry is enough.
// Build it once per type with NewBTFDecoder; it is safe for concurrent use.
//
// Members are written by kind: integers of 1, 2, 4 or 8 bytes and pointers
// as numbers (16-byte integers as hexadecimal strings), bools as true or
// false, enums by the enumerator's name (the number when no enumerator has
// the value), char arrays as strings cut at the first NUL, other arrays as
// JSON arrays, structs and unions as objects (members of an anonymous
// struct or union are their parent's), bitfields as numbers; typedefs and
// qualifiers are looked through.
//
// A record shorter than the type is an error, unless the type ends in an
// array (a variable area such as an argument list, sent only as far as it
// is used): that array is then cut to the whole elements present. A record
// longer than the type plus its transport's padding is an error, unless the
// type ends in a flexible array member, which takes every byte left. Every
// failure is a *LayoutError and is counted in Errors.
type BTFDecoder struct {
	typ      btf.Type
	typeName string
	root     node
	size     int
	padding  int
	tail     Tail
	varNode  *node       // the top-level array that ends the type, or nil
	lenField lengthField // where a LengthTail or SizeTail is held
	errs     atomic.Uint64
}

// NewBTFDecoder returns a decoder for records laid out as typ, a struct or
// union (or a typedef of one). A member of a kind it cannot decode
// (functions, forward declarations, floats other than float and double)
// is an error naming the member, matching ErrUnsupportedType; so is an
// invalid Tail (transport.ErrInvalidOptions).
func NewBTFDecoder(typ btf.Type, opts BTFOptions) (*BTFDecoder, error) {
	d := &BTFDecoder{typ: typ, typeName: typeString(typ), tail: opts.Tail}
	switch btf.UnderlyingType(typ).(type) {
	case *btf.Struct, *btf.Union:
	default:
		return nil, &LayoutError{Type: d.typeName, Reason: "not a struct or union", Err: ErrUnsupportedType}
	}
	c := compiler{typeName: d.typeName}
	root, err := c.compile(typ, "", 0, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	d.root, d.size = root, root.size
	if d.size == 0 {
		return nil, &LayoutError{Type: d.typeName, Reason: "type has size 0", Err: ErrUnsupportedType}
	}
	d.varNode = variableArea(&d.root)
	switch opts.Transport {
	case transport.KindRingbuf, transport.KindFake:
	default:
		d.padding = maxPadding
	}
	if err := d.setTail(); err != nil {
		return nil, err
	}
	return d, nil
}

// variableArea returns the array that ends struct n, after every other
// member, or nil.
func variableArea(n *node) *node {
	k := len(n.members)
	if k == 0 {
		return nil
	}
	last := &n.members[k-1]
	if last.kind != nodeArray && last.kind != nodeChars {
		return nil
	}
	for _, m := range n.members[:k-1] {
		if m.off+m.size > last.off {
			return nil // a union, or members out of order: no area to cut
		}
	}
	return last
}

func (d *BTFDecoder) setTail() error {
	switch d.tail.kind {
	case 0:
		d.tail = RemainingTail()
		return nil
	case tailRemaining:
		return nil
	}
	if d.varNode == nil {
		return fmt.Errorf("event: %s does not end in an array, so it has no variable area for %s: %w", d.typeName, d.tail, transport.ErrInvalidOptions)
	}
	f, err := d.Field(d.tail.field)
	if err != nil {
		return fmt.Errorf("event: length field of %s: %w", d.tail, err)
	}
	n := f.node
	if (n.kind != nodeInt && n.kind != nodeUint) || n.bits != 0 {
		return &LayoutError{Type: d.typeName, Field: n.path, Offset: n.off, Reason: "a length field must be an integer", Err: ErrUnsupportedType}
	}
	d.lenField = lengthField{name: n.path, off: n.off, size: n.size, signed: n.signed}
	return nil
}

// Type returns the type the decoder was built for.
func (d *BTFDecoder) Type() btf.Type { return d.typ }

// Size returns the size of the type in bytes.
func (d *BTFDecoder) Size() int { return d.size }

// Errors returns how many records this decoder failed to decode.
func (d *BTFDecoder) Errors() uint64 { return d.errs.Load() }

// Stats returns c.Stats() with this decoder's failures added to
// DecodeErrors, like Decoder.Stats.
func (d *BTFDecoder) Stats(c transport.Consumer) transport.Stats {
	s := c.Stats()
	s.DecodeErrors += d.Errors()
	return s
}

// AppendJSON appends rec as one JSON object to dst and returns the
// extended buffer; it allocates only when dst must grow. On error dst is
// returned unchanged and the failure is counted.
func (d *BTFDecoder) AppendJSON(dst []byte, rec []byte) ([]byte, error) {
	end, err := d.recordEnd(rec)
	if err != nil {
		d.errs.Add(1)
		return dst, err
	}
	return appendObject(dst, &d.root, rec[:end]), nil
}

// Check returns the error AppendJSON would return for rec, without
// counting it.
func (d *BTFDecoder) Check(rec []byte) error {
	_, err := d.recordEnd(rec)
	return err
}

// typeString names t as C does: "struct event", "union u", "event_t".
func typeString(t btf.Type) string {
	name := t.TypeName()
	switch t.(type) {
	case *btf.Struct:
		return strings.TrimSpace("struct " + name)
	case *btf.Union:
		return strings.TrimSpace("union " + name)
	}
	if name == "" {
		return fmt.Sprintf("%T", t)
	}
	return name
}
