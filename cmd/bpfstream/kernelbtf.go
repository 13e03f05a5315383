package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// usersBTF returns the BTF of m, of the programs that use m, and of every
// map those programs use: a loader that sends the kernel only the BTF its
// functions reach (cilium/ebpf) leaves the event struct out of the
// programs' BTF, but it is often in a map's (.rodata, a scratch map).
func usersBTF(m *ebpf.Map) ([]*btf.Spec, error) {
	info, err := m.Info()
	if err != nil {
		return nil, fmt.Errorf("map info: %w", err)
	}
	id, ok := info.ID()
	if !ok {
		return nil, errors.New("the kernel does not say the map's id (Linux 4.13+)")
	}
	var btfIDs []btf.ID
	if b, ok := info.BTFID(); ok {
		btfIDs = append(btfIDs, b)
	}
	var mapIDs []ebpf.MapID
	for pid, err := ebpf.ProgramGetNextID(0); err == nil; pid, err = ebpf.ProgramGetNextID(pid) {
		p, err := ebpf.NewProgramFromID(pid)
		if err != nil {
			continue // unloaded meanwhile
		}
		pinfo, err := p.Info()
		p.Close()
		if err != nil {
			continue
		}
		ids, _ := pinfo.MapIDs()
		if !slices.Contains(ids, id) {
			continue
		}
		if b, ok := pinfo.BTFID(); ok {
			btfIDs = append(btfIDs, b)
		}
		mapIDs = append(mapIDs, ids...)
	}
	for _, mid := range mapIDs {
		if b, ok := mapBTF(mid); ok {
			btfIDs = append(btfIDs, b)
		}
	}
	slices.Sort(btfIDs)
	btfIDs = slices.Compact(btfIDs)
	var specs []*btf.Spec
	for _, b := range btfIDs {
		h, err := btf.NewHandleFromID(b)
		if err != nil {
			continue
		}
		spec, err := h.Spec(nil)
		h.Close()
		if err == nil {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("no BTF for map id %d: no program using it carries BTF: give the type with -btf FILE: %w", id, os.ErrNotExist)
	}
	return specs, nil
}

func mapBTF(id ebpf.MapID) (btf.ID, bool) {
	m, err := ebpf.NewMapFromID(id)
	if err != nil {
		return 0, false
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return 0, false
	}
	return info.BTFID()
}
