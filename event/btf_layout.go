package event

import (
	"fmt"
)

// LayoutError is returned by NewBTFDecoder for a type it cannot decode, and
// by a BTFDecoder for a record that does not match its type: too short, too
// long, or with a tail length the record does not have. It names the type,
// the member and its offset, and wraps the sentinel that classifies it:
// ErrUnsupportedType, ErrShortSample, ErrSampleSize or ErrTailLength.
type LayoutError struct {
	// Type is the BTF type, as in "struct event".
	Type string
	// Field is the dotted path of the member at fault, empty for the
	// record as a whole.
	Field string
	// Offset is the member's byte offset in the record.
	Offset int
	// Reason says what is wrong.
	Reason string
	// Err is the sentinel error.
	Err error
}

// Error says what failed, where, and why.
func (e *LayoutError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("event: %s: %s: %v", e.Type, e.Reason, e.Err)
	}
	return fmt.Sprintf("event: %s: field %s at offset %d: %s: %v", e.Type, e.Field, e.Offset, e.Reason, e.Err)
}

// Unwrap returns the sentinel error.
func (e *LayoutError) Unwrap() error { return e.Err }

// maxPadding is the most bytes any transport appends to a record: perfbuf
// pads each sample so that it ends on 8 bytes.
const maxPadding = 7

// recordEnd returns how many bytes of rec the decoder decodes, or why rec
// does not match the type.
func (d *BTFDecoder) recordEnd(rec []byte) (int, error) {
	end := len(rec)
	switch d.tail.kind {
	case tailLength, tailSize:
		if len(rec) < d.lenField.off+d.lenField.size {
			return 0, d.shortError(len(rec))
		}
		want := d.lenField.read(rec)
		if d.tail.kind == tailLength { // the length of the variable area
			want = addSaturated(want, d.varNode.off)
		}
		if want < 0 || want > len(rec) {
			return 0, &LayoutError{Type: d.typeName, Field: d.lenField.name, Offset: d.lenField.off,
				Reason: fmt.Sprintf("declares a record of %d bytes, the record has %d", want, len(rec)), Err: ErrTailLength}
		}
		end = want
	}
	if end < d.size {
		if d.varNode == nil || end < d.varNode.off {
			return 0, d.shortError(end)
		}
		return end, nil // the variable area is cut to the bytes present
	}
	if d.varNode != nil && d.varNode.count == 0 {
		return end, nil // a flexible array member takes every byte left
	}
	if limit := d.size + d.padding; len(rec) > limit {
		return 0, &LayoutError{Type: d.typeName,
			Reason: fmt.Sprintf("record of %d bytes, longer than the type's %d bytes and the transport's %d bytes of padding", len(rec), d.size, d.padding),
			Err:    ErrSampleSize}
	}
	return d.size, nil
}

// shortError names the member at which a record of n bytes ends.
func (d *BTFDecoder) shortError(n int) error {
	e := &LayoutError{Type: d.typeName, Err: ErrShortSample,
		Reason: fmt.Sprintf("record of %d bytes ends inside it, the type has %d", n, d.size)}
	if m := d.root.memberAt(n); m != nil {
		e.Field, e.Offset = m.path, m.off
	}
	return e
}

func addSaturated(a, b int) int {
	if s := a + b; s >= a {
		return s
	}
	return int(^uint(0) >> 1)
}
