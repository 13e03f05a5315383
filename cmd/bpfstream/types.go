package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// errNoType says -type names no struct in the BTF searched.
var errNoType = errors.New("type not found")

// findType returns the struct, union or typedef named name in the first
// spec that has one; where none has, the error lists the struct names
// found, so the user sees what the BTF holds.
func findType(name string, specs []*btf.Spec, where string) (btf.Type, error) {
	for _, s := range specs {
		for t, err := range s.All() {
			if err != nil {
				return nil, err
			}
			if t.TypeName() != name {
				continue
			}
			switch t.(type) {
			case *btf.Struct, *btf.Union, *btf.Typedef:
				return t, nil
			}
		}
	}
	names := structNames(specs)
	if len(names) == 0 {
		return nil, fmt.Errorf("no struct %q in %s, which holds no named struct: %w", name, where, errNoType)
	}
	return nil, fmt.Errorf("no struct %q in %s; structs found: %s: %w", name, where, strings.Join(names, ", "), errNoType)
}

func structNames(specs []*btf.Spec) []string {
	var names []string
	for _, s := range specs {
		for t, err := range s.All() {
			if err != nil {
				break
			}
			if st, ok := t.(*btf.Struct); ok && st.Name != "" {
				names = append(names, st.Name)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}
