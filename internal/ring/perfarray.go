package ring

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
)

// PerfArray is a consumer's own handle on a perf event array, through which
// it installs its perf events.
//
// The kernel ties each entry of a perf event array to the map file it was
// installed through, and removes the entries still tied to a file when that
// file is released (perf_event_fd_array_release). A dup of the caller's
// descriptor (Map.Clone) shares the caller's file, so closing it removes
// nothing while the caller's map is open: the perf events would stay
// installed after the consumer closed, and BPF writes would land in buffers
// nobody reads. So the handle is a new file opened by the map's ID, which the
// kernel cleans up exactly: only entries installed through it and not
// replaced since by another consumer. Opening a map by ID needs
// CAP_SYS_ADMIN; without it the handle is a dup, and Close deletes the
// entries this handle installed, whoever holds them now.
type PerfArray struct {
	*ebpf.Map
	// Own reports whether Map has its own file (see above).
	Own bool
	// installed lists the CPUs whose entries Install wrote.
	installed []int
}

// OpenPerfArray returns the consumer's own handle on m.
func OpenPerfArray(m *ebpf.Map) (*PerfArray, error) {
	if info, err := m.Info(); err == nil {
		if id, ok := info.ID(); ok {
			if own, err := ebpf.NewMapFromID(id); err == nil {
				return &PerfArray{Map: own, Own: true}, nil
			}
		}
	}
	dup, err := m.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone perf event array: %w", err)
	}
	return &PerfArray{Map: dup}, nil
}

// Install puts the perf event fd in cpu's entry.
func (a *PerfArray) Install(cpu, fd int) error {
	if err := a.Put(uint32(cpu), uint32(fd)); err != nil {
		return err
	}
	a.installed = append(a.installed, cpu)
	return nil
}

// Close takes this handle's entries out of the array (BPF writes to them
// then fail with ENOENT) and closes the handle.
func (a *PerfArray) Close() error {
	var errs []error
	if !a.Own {
		for _, cpu := range a.installed {
			if err := a.Delete(uint32(cpu)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				errs = append(errs, fmt.Errorf("remove perf buffer of CPU %d: %w", cpu, err))
			}
		}
	}
	a.installed = nil
	return errors.Join(append(errs, a.Map.Close())...)
}
