package event

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cilium/ebpf/btf"
)

// BTFField reads one member of the records of a BTFDecoder, found by its
// dotted C path with BTFDecoder.Field: typed access for filters, without
// decoding the rest of the record. It is safe for concurrent use. Its
// failures are returned, not counted: the decoder counts the records it
// fails to write.
type BTFField struct {
	d    *BTFDecoder
	node node // off is the byte offset in the record
}

// Field returns the member at path, its C member names joined by dots
// ("task.pid"); members of anonymous structs and unions are named as in C,
// without the anonymous level. Members of array elements have no path. An
// unknown path is an error listing the names that exist at the level that
// failed.
func (d *BTFDecoder) Field(path string) (*BTFField, error) {
	cur, off := &d.root, 0
	for _, name := range strings.Split(path, ".") {
		var next *node
		var names []string
		for i := range cur.members {
			if m := &cur.members[i]; lastName(m.path) == name {
				next = m
				break
			}
			names = append(names, lastName(cur.members[i].path))
		}
		if next == nil {
			reason := fmt.Sprintf("no member %q", name)
			if cur.kind == nodeObject {
				reason += fmt.Sprintf(" (members: %s)", strings.Join(names, ", "))
			} else {
				reason = fmt.Sprintf("%s is not a struct or union", cur.path)
			}
			return nil, &LayoutError{Type: d.typeName, Field: path, Offset: off, Reason: reason, Err: ErrUnsupportedType}
		}
		cur, off = next, off+next.off
	}
	f := &BTFField{d: d, node: *cur}
	f.node.off = off
	return f, nil
}

// Path returns the field's dotted path.
func (f *BTFField) Path() string { return f.node.path }

// Offset returns the field's byte offset in the record.
func (f *BTFField) Offset() int { return f.node.off }

// Type returns the field's BTF type, typedefs and qualifiers resolved.
func (f *BTFField) Type() btf.Type { return f.node.typ }

// bytes returns the record as far as it decodes, checking that it holds
// the field.
func (f *BTFField) record(rec []byte) ([]byte, error) {
	end, err := f.d.recordEnd(rec)
	if err != nil {
		return nil, err
	}
	if f.node.off > end || (f.node.off+f.node.size > end && f.node.kind != nodeArray && f.node.kind != nodeChars) {
		return nil, f.d.shortError(end)
	}
	return rec[:end], nil
}

// scalar reports whether the field holds a number.
func (f *BTFField) scalar() error {
	switch f.node.kind {
	case nodeInt, nodeUint, nodeBool, nodeEnum:
		return nil
	}
	return &LayoutError{Type: f.d.typeName, Field: f.node.path, Offset: f.node.off,
		Reason: "not an integer, bool or enum", Err: ErrUnsupportedType}
}

// Int returns the value of an integer, bool, enum or pointer field,
// converted to int64 as Go converts a uint64 for unsigned ones.
func (f *BTFField) Int(rec []byte) (int64, error) {
	u, err := f.Uint(rec)
	return int64(u), err
}

// Uint returns the value of an integer, bool, enum or pointer field,
// converted to uint64 (a signed value is sign-extended, a true bool is 1).
func (f *BTFField) Uint(rec []byte) (uint64, error) {
	if err := f.scalar(); err != nil {
		return 0, err
	}
	b, err := f.record(rec)
	if err != nil {
		return 0, err
	}
	v := f.node.raw(b)
	if f.node.kind == nodeBool && v != 0 {
		v = 1 // C treats any non-zero byte as true
	}
	return v, nil
}

// Bytes returns the field's bytes in rec, a sub-slice of it: a char array
// up to its first NUL, the variable area of a short record as far as the
// record goes.
func (f *BTFField) Bytes(rec []byte) ([]byte, error) {
	b, err := f.record(rec)
	if err != nil {
		return nil, err
	}
	switch f.node.kind {
	case nodeChars:
		s := arrayBytes(&f.node, b)
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		return s, nil
	case nodeArray:
		return arrayBytes(&f.node, b), nil
	}
	return b[f.node.off : f.node.off+f.node.size], nil
}

// AppendJSON appends the field's value in rec as JSON, as
// BTFDecoder.AppendJSON writes it.
func (f *BTFField) AppendJSON(dst []byte, rec []byte) ([]byte, error) {
	b, err := f.record(rec)
	if err != nil {
		return dst, err
	}
	return appendValue(dst, &f.node, b), nil
}

// AppendText appends the field's value in rec for a terminal: like
// AppendJSON, but strings and enum names without quotes, with bytes that
// are not printable UTF-8 written as \xNN.
func (f *BTFField) AppendText(dst []byte, rec []byte) ([]byte, error) {
	b, err := f.record(rec)
	if err != nil {
		return dst, err
	}
	switch n := &f.node; n.kind {
	case nodeChars:
		s, _ := f.Bytes(rec)
		return appendPrintable(dst, s), nil
	case nodeEnum:
		if name, ok := n.enum[n.raw(b)]; ok {
			return append(dst, name[1:len(name)-1]...), nil
		}
	}
	return appendValue(dst, &f.node, b), nil
}

func appendPrintable(dst []byte, s []byte) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 || r < 0x20 || r == 0x7f {
			dst = append(dst, '\\', 'x', hex[s[i]>>4], hex[s[i]&15])
			i++
			continue
		}
		dst = append(dst, s[i:i+size]...)
		i += size
	}
	return dst
}

// Fields returns the dotted paths of the type's leaf members, in order:
// every member that is not a struct or union (arrays are leaves), for a
// table with one column per field.
func (d *BTFDecoder) Fields() []string {
	var paths []string
	var walk func(n *node)
	walk = func(n *node) {
		for i := range n.members {
			if m := &n.members[i]; m.kind == nodeObject {
				walk(m)
			} else {
				paths = append(paths, m.path)
			}
		}
	}
	walk(&d.root)
	return paths
}
