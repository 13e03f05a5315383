package event

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cilium/ebpf/btf"
)

// nodeKind is how a node's bytes are written.
type nodeKind uint8

const (
	nodeInt    nodeKind = iota + 1 // a signed integer
	nodeUint                       // an unsigned integer or a pointer
	nodeBool                       // false when zero
	nodeEnum                       // an enumerator's name, or its number
	nodeFloat                      // a float of 4 or 8 bytes
	nodeInt128                     // a 16-byte integer, as a hexadecimal string
	nodeChars                      // a char array, a string cut at the first NUL
	nodeArray                      // any other array
	nodeObject                     // a struct or union
)

// node is one compiled member of a type: where its bytes are and how to
// write them.
type node struct {
	kind nodeKind
	// off is the byte offset in the enclosing struct, union or array
	// element; size the bytes the member spans.
	off, size int
	// path is the dotted path from the record's type, for errors and
	// Field; key the member's JSON key, quoted, with its colon.
	path, key string
	// typ is the member's BTF type.
	typ btf.Type
	// shift and bits select a bitfield of the bytes (bits 0: the whole
	// integer); signed says the integer or enum is signed.
	shift, bits uint8
	signed      bool
	// enum maps the enum's values to their names, quoted.
	enum map[uint64]string
	// elem and count describe an array: count elements of elem.size
	// bytes (0 for a flexible array member).
	elem  *node
	count int
	// members are an object's members, anonymous ones flattened.
	members []node
}

// compiler builds the nodes of a type.
type compiler struct {
	typeName string
	depth    int
}

// maxDepth bounds the nesting of types, which BTF can make cyclic only
// through pointers (written as numbers, never followed).
const maxDepth = 64

func (c *compiler) errorf(path string, off int, format string, args ...any) error {
	return &LayoutError{Type: c.typeName, Field: path, Offset: off, Reason: fmt.Sprintf(format, args...), Err: ErrUnsupportedType}
}

// compile returns the node for t at byte offset off (for errors: abs) and
// bit offset bitOff within the byte, bits wide (0 for a whole member).
func (c *compiler) compile(t btf.Type, path string, off, abs int, bitOff, bits uint32) (node, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxDepth {
		return node{}, c.errorf(path, abs, "types nested deeper than %d", maxDepth)
	}
	t = btf.UnderlyingType(t)
	n := node{off: off, path: path, typ: t}
	if path != "" {
		n.key = strconv.Quote(lastName(path)) + ":"
	}
	switch t := t.(type) {
	case *btf.Int:
		n.size = int(t.Size)
		switch {
		case t.Encoding&btf.Bool != 0 || t.Name == "_Bool" || t.Name == "bool":
			n.kind = nodeBool
		case t.Size == 16 && bits == 0:
			n.kind = nodeInt128
			return n, nil
		case t.Encoding&btf.Signed != 0:
			n.kind, n.signed = nodeInt, true
		default:
			n.kind = nodeUint
		}
	case *btf.Enum:
		n.kind, n.size, n.signed = nodeEnum, int(t.Size), t.Signed
		n.enum = make(map[uint64]string, len(t.Values))
		for _, v := range t.Values {
			if _, dup := n.enum[v.Value]; !dup {
				n.enum[v.Value] = strconv.Quote(v.Name)
			}
		}
	case *btf.Pointer:
		n.kind, n.size = nodeUint, 8
	case *btf.Float:
		if t.Size != 4 && t.Size != 8 {
			return node{}, c.errorf(path, abs, "float of %d bytes is not supported", t.Size)
		}
		n.kind, n.size = nodeFloat, int(t.Size)
	case *btf.Array:
		return c.array(n, t, abs)
	case *btf.Struct:
		return c.object(n, t.Size, t.Members, abs)
	case *btf.Union:
		return c.object(n, t.Size, t.Members, abs)
	default:
		return node{}, c.errorf(path, abs, "%s is not supported", kindName(t))
	}
	if n.size != 1 && n.size != 2 && n.size != 4 && n.size != 8 {
		return node{}, c.errorf(path, abs, "integer of %d bytes is not supported", n.size)
	}
	if bits == 0 {
		return n, nil
	}
	switch t.(type) {
	case *btf.Int, *btf.Enum:
	default:
		return node{}, c.errorf(path, abs, "bitfield of %s: only integers and enums can be bitfields", kindName(t))
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return node{}, c.errorf(path, abs, "bitfields are decoded on little-endian hosts only")
	}
	if n.kind == nodeBool {
		n.kind = nodeUint
	}
	n.shift, n.bits = uint8(bitOff), uint8(bits)
	n.size = int(bitOff+bits+7) / 8
	if bits > 64 || n.size > 8 {
		return node{}, c.errorf(path, abs, "bitfield of %d bits at bit %d spans more than 8 bytes", bits, bitOff)
	}
	return n, nil
}

func (c *compiler) array(n node, t *btf.Array, abs int) (node, error) {
	elemSize, err := btf.Sizeof(t.Type)
	if err != nil {
		return node{}, c.errorf(n.path, abs, "array element: %v", err)
	}
	if elemSize <= 0 {
		return node{}, c.errorf(n.path, abs, "array of elements of size 0")
	}
	elem, err := c.compile(t.Type, "", 0, abs, 0, 0)
	if err != nil {
		if le, ok := err.(*LayoutError); ok && le.Field == "" {
			le.Field = n.path + "[]"
			le.Offset = abs
		}
		return node{}, err
	}
	elem.size = elemSize
	n.kind, n.elem, n.count, n.size = nodeArray, &elem, int(t.Nelems), elemSize*int(t.Nelems)
	if isChar(t.Type) {
		n.kind = nodeChars
	}
	return n, nil
}

func (c *compiler) object(n node, size uint32, members []btf.Member, abs int) (node, error) {
	n.kind, n.size = nodeObject, int(size)
	if err := c.members(&n, n.path, 0, abs, members); err != nil {
		return node{}, err
	}
	return n, nil
}

// members appends the nodes of members, at byte offset base in n, to n (at
// abs in the record): those of an anonymous struct or union are n's own,
// as in C.
func (c *compiler) members(n *node, path string, base, abs int, members []btf.Member) error {
	for _, m := range members {
		off := base + int(m.Offset/8)
		bitOff := uint32(m.Offset % 8)
		if m.Name == "" {
			switch u := btf.UnderlyingType(m.Type).(type) {
			case *btf.Struct:
				if err := c.members(n, path, off, abs, u.Members); err != nil {
					return err
				}
				continue
			case *btf.Union:
				if err := c.members(n, path, off, abs, u.Members); err != nil {
					return err
				}
				continue
			}
			continue // an unnamed bitfield is padding
		}
		p := m.Name
		if path != "" {
			p = path + "." + m.Name
		}
		if m.BitfieldSize == 0 && bitOff != 0 {
			return c.errorf(p, abs+off, "member starts at bit %d of a byte", bitOff)
		}
		child, err := c.compile(m.Type, p, off, abs+off, bitOff, uint32(m.BitfieldSize))
		if err != nil {
			return err
		}
		// Only a flexible array member (no elements) may start where its
		// struct ends.
		flexible := (child.kind == nodeArray || child.kind == nodeChars) && child.count == 0
		if end := off + child.size; end > n.size || flexible && off > n.size {
			return c.errorf(p, abs+off, "member ends at byte %d, beyond the %d bytes of its type", end, n.size)
		}
		n.members = append(n.members, child)
	}
	return nil
}

// isChar reports whether an array of t is a C string: t is char or signed
// char (unsigned char, as in __u8 addresses, is a number).
func isChar(t btf.Type) bool {
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1 && (i.Encoding&btf.Char != 0 || i.Name == "char" || i.Name == "signed char")
}

func lastName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[i+1:]
		}
	}
	return path
}

// kindName names t's kind for errors.
func kindName(t btf.Type) string {
	switch t.(type) {
	case *btf.Void:
		return "void"
	case *btf.Fwd:
		return "an incomplete (forward-declared) type"
	case *btf.FuncProto, *btf.Func:
		return "a function"
	case *btf.Var, *btf.Datasec:
		return "a variable or data section"
	}
	return fmt.Sprintf("BTF kind %T", t)
}

// memberAt returns the deepest member holding byte off of an object at
// offset 0, or nil.
func (n *node) memberAt(off int) *node {
	var found *node
	base := 0
	cur := n
	for cur.kind == nodeObject {
		var next *node
		for i := range cur.members {
			m := &cur.members[i]
			if off >= base+m.off && off < base+m.off+m.size {
				next = m
				break
			}
		}
		if next == nil {
			break
		}
		found, base, cur = next, base+next.off, next
	}
	if found != nil {
		found = &node{path: found.path, off: base}
	}
	return found
}
