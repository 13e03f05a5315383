package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfstream/bpfstream/internal/tracefs"
)

// run loads an object, attaches its programs and prints its map's records.
func run(args []string, stdout, stderr io.Writer) int {
	o, path, status := parse("run", "OBJECT.o", args, stderr)
	if status >= 0 {
		return status
	}
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %v\n", err)
		return 1
	}
	if err := setConstants(spec, o.sets); err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %v\n", err)
		return 2
	}
	mapName, err := pickMap(spec, o.mapName)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %s: %v\n", path, err)
		return 2
	}
	var typ btf.Type
	if o.typeName != "" {
		if spec.Types == nil {
			fmt.Fprintf(stderr, "bpfstream run: %s has no BTF to find -type %s in\n", path, o.typeName)
			return 2
		}
		if typ, err = findType(o.typeName, []*btf.Spec{spec.Types}, path); err != nil {
			fmt.Fprintf(stderr, "bpfstream run: %v\n", err)
			return 2
		}
	}
	dec, err := newDecoder(typ, spec.Maps[mapName].Type)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %v\n", err)
		return 2
	}
	if _, err := tracefs.Ensure(); err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %v (tracepoint programs will not attach)\n", err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream run: load %s: %v\n", path, err)
		return 1
	}
	defer coll.Close()
	// The consumer opens before the programs attach, so that it sees their
	// first records.
	c, err := openConsumer(mapName, coll.Maps[mapName])
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream run: %v\n", err)
		return 1
	}
	links, err := attachAll(spec, coll, stderr)
	defer func() {
		for _, l := range links {
			l.Close()
		}
	}()
	if err != nil {
		c.Close()
		fmt.Fprintf(stderr, "bpfstream run: %s: %v\n", path, err)
		return 1
	}
	return stream(mapName, c, dec, o, stdout, stderr)
}

// pickMap returns the ring buffer or perf event array to read: name, or
// the only one.
func pickMap(spec *ebpf.CollectionSpec, name string) (string, error) {
	var found []string
	for n, m := range spec.Maps {
		if m.Type == ebpf.RingBuf || m.Type == ebpf.PerfEventArray {
			found = append(found, n)
		}
	}
	slices.Sort(found)
	if name != "" {
		m, ok := spec.Maps[name]
		switch {
		case !ok:
			return "", fmt.Errorf("no map %q (ring and perf maps: %s)", name, strings.Join(found, ", "))
		case m.Type != ebpf.RingBuf && m.Type != ebpf.PerfEventArray:
			return "", fmt.Errorf("map %s is a %s, not a ring buffer or a perf event array", name, m.Type)
		}
		return name, nil
	}
	switch len(found) {
	case 0:
		return "", errors.New("no ring buffer or perf event array")
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("several ring and perf maps (%s): choose one with -map", strings.Join(found, ", "))
}

// attachAll attaches every program by its section name, skipping (with a
// line on stderr) those whose section it cannot attach; it fails when none
// attaches.
func attachAll(spec *ebpf.CollectionSpec, coll *ebpf.Collection, stderr io.Writer) ([]link.Link, error) {
	names := make([]string, 0, len(spec.Programs))
	for n := range spec.Programs {
		names = append(names, n)
	}
	slices.Sort(names)
	var links []link.Link
	for _, n := range names {
		l, err := attach(spec.Programs[n].SectionName, coll.Programs[n])
		if err != nil {
			if errors.Is(err, errNotAttachable) {
				fmt.Fprintf(stderr, "bpfstream run: not attaching %s: %v\n", n, err)
				continue
			}
			return links, fmt.Errorf("attach %s: %w", n, err)
		}
		links = append(links, l)
	}
	if len(links) == 0 {
		return nil, errors.New("no program to attach (sections: tracepoint/, tp/, raw_tracepoint/, raw_tp/, tp_btf/, kprobe/, kretprobe/, fentry/, fexit/)")
	}
	return links, nil
}
