package event

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// appendValue appends n's value, read from b (the bytes of n's enclosing
// struct, union or array element), as JSON.
func appendValue(dst []byte, n *node, b []byte) []byte {
	switch n.kind {
	case nodeInt:
		return strconv.AppendInt(dst, int64(n.raw(b)), 10)
	case nodeUint:
		return strconv.AppendUint(dst, n.raw(b), 10)
	case nodeBool:
		if n.raw(b) != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case nodeEnum:
		v := n.raw(b)
		if name, ok := n.enum[v]; ok {
			return append(dst, name...)
		}
		if n.signed {
			return strconv.AppendInt(dst, int64(v), 10)
		}
		return strconv.AppendUint(dst, v, 10)
	case nodeFloat:
		return appendFloat(dst, n, b)
	case nodeInt128:
		return appendInt128(dst, b[n.off:n.off+16])
	case nodeChars:
		return appendCString(dst, arrayBytes(n, b))
	case nodeArray:
		return appendArray(dst, n, arrayBytes(n, b))
	}
	return appendObject(dst, n, b[n.off:n.off+n.size])
}

// appendObject appends the members of n, whose bytes are b, as a JSON
// object.
func appendObject(dst []byte, n *node, b []byte) []byte {
	dst = append(dst, '{')
	for i := range n.members {
		m := &n.members[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = appendValue(dst, m, b)
	}
	return append(dst, '}')
}

// appendArray appends the elements of array n held in b.
func appendArray(dst []byte, n *node, b []byte) []byte {
	dst = append(dst, '[')
	size := n.elem.size
	for i := 0; i+size <= len(b); i += size {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendValue(dst, n.elem, b[i:i+size])
	}
	return append(dst, ']')
}

// arrayBytes returns the bytes of array n in b: all of them, or for the
// variable area that ends a short record (and a flexible array member) the
// whole elements present.
func arrayBytes(n *node, b []byte) []byte {
	end := n.off + n.size
	if n.count == 0 || end > len(b) {
		end = n.off + (len(b)-n.off)/n.elem.size*n.elem.size
	}
	return b[n.off:end]
}

// raw returns n's integer value in b, sign-extended when signed.
func (n *node) raw(b []byte) uint64 {
	p := b[n.off : n.off+n.size]
	var u uint64
	switch len(p) {
	case 1:
		u = uint64(p[0])
	case 2:
		u = uint64(binary.NativeEndian.Uint16(p))
	case 4:
		u = uint64(binary.NativeEndian.Uint32(p))
	case 8:
		u = binary.NativeEndian.Uint64(p)
	default: // a bitfield spanning 3, 5, 6 or 7 bytes (little-endian hosts only)
		for i := len(p) - 1; i >= 0; i-- {
			u = u<<8 | uint64(p[i])
		}
	}
	if n.bits != 0 {
		u >>= n.shift
		if n.bits < 64 {
			u &= 1<<n.bits - 1
			if n.signed && u>>(n.bits-1) != 0 {
				u |= ^uint64(0) << n.bits
			}
		}
		return u
	}
	if n.signed {
		switch n.size {
		case 1:
			u = uint64(int8(u))
		case 2:
			u = uint64(int16(u))
		case 4:
			u = uint64(int32(u))
		}
	}
	return u
}

func appendFloat(dst []byte, n *node, b []byte) []byte {
	var f float64
	bits := 64
	if n.size == 4 {
		f, bits = float64(math.Float32frombits(binary.NativeEndian.Uint32(b[n.off:]))), 32
	} else {
		f = math.Float64frombits(binary.NativeEndian.Uint64(b[n.off:]))
	}
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...) // JSON has no NaN or infinities
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendInt128 writes a 16-byte integer as a hexadecimal string: JSON
// numbers beyond 64 bits are not portable.
func appendInt128(dst []byte, p []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, `"0x`...)
	for i := 15; i >= 0; i-- {
		v := p[i]
		if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
			v = p[15-i]
		}
		dst = append(dst, hex[v>>4], hex[v&15])
	}
	return append(dst, '"')
}

// jsonPlain marks the bytes a JSON string holds as they are.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendCString appends the C string in b, cut at its first NUL, as a JSON
// string. Bytes that are not UTF-8 (an uninitialised buffer) are written as
// \u00XX, the byte's value as a code point: the JSON stays valid and no
// byte is lost.
func appendCString(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(b); {
		c := b[i]
		if jsonPlain[c] {
			start := i
			for i++; i < len(b) && jsonPlain[b[i]]; i++ {
			}
			dst = append(dst, b[start:i]...)
			continue
		}
		if c == 0 {
			break
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(b[i:]); r != utf8.RuneError || size > 1 {
				dst = append(dst, b[i:i+size]...)
				i += size
				continue
			}
		}
		dst = appendEscaped(dst, c)
		i++
	}
	return append(dst, '"')
}

func appendEscaped(dst []byte, c byte) []byte {
	const hex = "0123456789abcdef"
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\t':
		return append(dst, '\\', 't')
	case '\r':
		return append(dst, '\\', 'r')
	}
	return append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
}
