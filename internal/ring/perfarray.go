package ring

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
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
//
// Close is what ends a consumer's hold on the map, and it is synchronous:
// the entries leave the map before it returns, also while a Drain still
// holds the buffers (they are released later, when it leaves). Deferred
// with the buffers, the removal would let writes land in buffers already
// given up, and, without a file of its own, delete the entries a consumer
// opened meanwhile on the same map installed.
type PerfArray struct {
	*ebpf.Map
	// Own reports whether Map has its own file (see above).
	Own bool
	// installed lists the CPUs whose entries Install wrote.
	installed []int
	claim     *Claim // the entries of cpus, until Close has removed them
	closeOnce sync.Once
}

// OpenPerfArray claims the entries of cpus in m for one consumer (see
// claim.go; an entry an open consumer of this process holds is refused with
// an error matching transport.ErrInUse) and returns the consumer's own
// handle on m.
func OpenPerfArray(m *ebpf.Map, cpus []int) (_ *PerfArray, err error) {
	var id ebpf.MapID
	var name string
	if info, err := m.Info(); err == nil {
		id, _ = info.ID()
		name = info.Name
	}
	ps := make([]Position, len(cpus))
	for i, cpu := range cpus {
		ps[i] = Position{ID: uint32(id), CPU: cpu, Name: name}
	}
	claim, err := ClaimPositions(ps)
	if err != nil {
		return nil, err
	}
	if id != 0 {
		if own, err := ebpf.NewMapFromID(id); err == nil {
			return &PerfArray{Map: own, Own: true, claim: claim}, nil
		}
	}
	dup, err := m.Clone()
	if err != nil {
		claim.Release()
		return nil, fmt.Errorf("ring: clone perf event array: %w", err)
	}
	return &PerfArray{Map: dup, claim: claim}, nil
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
// then fail with ENOENT), closes the handle and waits until no BPF program
// can still be writing into the buffers the entries held. Only the first
// call does anything; later ones return nil, as does a nil PerfArray (a
// reader that installed nothing). Safe for concurrent use.
func (a *PerfArray) Close() error {
	if a == nil {
		return nil
	}
	var err error
	a.closeOnce.Do(func() {
		var errs []error
		if !a.Own {
			for _, cpu := range a.installed {
				if err := a.Delete(uint32(cpu)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					errs = append(errs, fmt.Errorf("remove perf buffer of CPU %d: %w", cpu, err))
				}
			}
		}
		// Closing our own file removes its entries before close(2)
		// returns (the kernel releases the file on the way back to user
		// space).
		errs = append(errs, a.Map.Close())
		awaitWritersGone()
		a.claim.Release()
		err = errors.Join(errs...)
	})
	return err
}

// membarrierCmdGlobal is MEMBARRIER_CMD_GLOBAL
// (include/uapi/linux/membarrier.h), which returns after an RCU grace period
// (synchronize_rcu) on a machine with more than one CPU online.
const membarrierCmdGlobal = 1

// awaitWritersGone waits until every BPF program that may have found a
// perf event in an entry just removed has finished with it. A program reads
// the entry and writes the sample within one RCU read-side section, so a
// write that found the entry before the removal can complete after it; an
// RCU grace period later, none can. Where the kernel refuses the barrier
// (booted with nohz_full), such a write, a matter of microseconds, is not
// waited for.
func awaitWritersGone() {
	_, _, _ = unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdGlobal, 0, 0)
}
