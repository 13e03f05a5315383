package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// tail prints the records of a map another process created.
func tail(args []string, stdout, stderr io.Writer) int {
	o, arg, status := parse("tail", "MAP", args, stderr)
	if status >= 0 {
		return status
	}
	m, err := openMap(arg)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream tail: %v\n", err)
		return 1
	}
	defer m.Close()
	if transportOf(m.Type()) == 0 {
		fmt.Fprintf(stderr, "bpfstream tail: map %s is a %s: bpfstream reads ring buffers and perf event arrays only\n", arg, m.Type())
		return 1
	}
	var typ btf.Type
	if o.typeName != "" {
		if typ, err = tailType(m, arg, o); err != nil {
			fmt.Fprintf(stderr, "bpfstream tail: %v\n", err)
			return 1
		}
	}
	dec, err := newDecoder(typ, m.Type())
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream tail: %v\n", err)
		return 1
	}
	c, err := openConsumer(arg, m)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream tail: %v\n", err)
		return 1
	}
	return stream(arg, c, dec, o, stdout, stderr)
}

// openMap opens a map pinned at path, or id:N.
func openMap(arg string) (*ebpf.Map, error) {
	if s, ok := strings.CutPrefix(arg, "id:"); ok {
		id, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("map %q: want id:N with N a map id (bpftool map list)", arg)
		}
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			return nil, fmt.Errorf("map id %d: %w", id, err)
		}
		return m, nil
	}
	m, err := ebpf.LoadPinnedMap(arg, nil)
	if err != nil {
		return nil, fmt.Errorf("map pinned at %s: %w (want a path in bpffs, or id:N)", arg, err)
	}
	return m, nil
}

// tailType finds -type in -btf or in the kernel's BTF of m's users.
func tailType(m *ebpf.Map, arg string, o options) (btf.Type, error) {
	if o.btfFile != "" {
		spec, err := btf.LoadSpec(o.btfFile)
		if err != nil {
			return nil, fmt.Errorf("-btf %s: %w", o.btfFile, err)
		}
		return findType(o.typeName, []*btf.Spec{spec}, o.btfFile)
	}
	specs, err := usersBTF(m)
	if err != nil {
		return nil, err
	}
	return findType(o.typeName, specs, fmt.Sprintf("the BTF of the programs using map %s and of their maps (%d BTF objects; try -btf FILE)", arg, len(specs)))
}
