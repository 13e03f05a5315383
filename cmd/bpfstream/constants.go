package main

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// setConstants sets each NAME=VALUE of sets in spec's constants (.rodata),
// VALUE parsed as the variable's type says.
func setConstants(spec *ebpf.CollectionSpec, sets []string) error {
	for _, s := range sets {
		name, value, _ := strings.Cut(s, "=")
		v, ok := spec.Variables[name]
		if !ok || !v.Constant() {
			return fmt.Errorf("-set %s: no constant %q in the object (declare it const volatile)", s, name)
		}
		b, err := encodeValue(v.Type, int(v.Size()), value)
		if err != nil {
			return fmt.Errorf("-set %s: %w", s, err)
		}
		if err := v.Set(b); err != nil {
			return fmt.Errorf("-set %s: %w", s, err)
		}
	}
	return nil
}

// encodeValue returns value, parsed as a t of size bytes, in host byte
// order.
func encodeValue(t btf.Type, size int, value string) ([]byte, error) {
	if v, ok := t.(*btf.Var); ok {
		t = v.Type
	}
	b := make([]byte, size)
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		if t.Encoding&btf.Bool != 0 {
			v, err := strconv.ParseBool(value)
			if v {
				b[0] = 1
			}
			return b, err
		}
		var u uint64
		var err error
		if t.Encoding&btf.Signed != 0 {
			var i int64
			i, err = strconv.ParseInt(value, 0, 8*size)
			u = uint64(i)
		} else {
			u, err = strconv.ParseUint(value, 0, 8*size)
		}
		if err != nil {
			return nil, err
		}
		return putUint(b, u), nil
	case *btf.Enum:
		for _, e := range t.Values {
			if e.Name == value {
				return putUint(b, e.Value), nil
			}
		}
		u, err := strconv.ParseInt(value, 0, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is no enumerator of enum %s", value, t.Name)
		}
		return putUint(b, uint64(u)), nil
	case *btf.Array:
		if len(value) >= size {
			return nil, fmt.Errorf("string of %d bytes does not fit in %d with its NUL", len(value), size)
		}
		copy(b, value)
		return b, nil
	}
	return nil, fmt.Errorf("cannot set a constant of type %v", t)
}

func putUint(b []byte, u uint64) []byte {
	switch len(b) {
	case 1:
		b[0] = byte(u)
	case 2:
		binary.NativeEndian.PutUint16(b, uint16(u))
	case 4:
		binary.NativeEndian.PutUint32(b, uint32(u))
	case 8:
		binary.NativeEndian.PutUint64(b, u)
	}
	return b
}
