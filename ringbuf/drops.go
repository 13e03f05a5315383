package ringbuf

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// dropCounter sums a BPF program's count of failed reserve/output calls.
type dropCounter struct {
	m      *ebpf.Map
	perCPU bool
}

func newDropCounter(m *ebpf.Map) (*dropCounter, error) {
	if m == nil {
		return nil, nil
	}
	if err := core.CheckMap("ringbuf: drop counter", m, ebpf.PerCPUArray, ebpf.Array); err != nil {
		return nil, err
	}
	if m.KeySize() != 4 || m.ValueSize() != 8 {
		return nil, fmt.Errorf("ringbuf: drop counter has key size %d and value size %d, want 4 and 8 (u32 -> u64): %w",
			m.KeySize(), m.ValueSize(), transport.ErrInvalidOptions)
	}
	return &dropCounter{m: m, perCPU: m.Type() == ebpf.PerCPUArray}, nil
}

// sum returns the total drops and whether a counter is configured. A counter
// that can no longer be read (closed by its owner) reports what it can: 0.
func (d *dropCounter) sum() (uint64, bool) {
	if d == nil {
		return 0, false
	}
	var total uint64
	for key := uint32(0); key < d.m.MaxEntries(); key++ {
		if d.perCPU {
			var vals []uint64
			if err := d.m.Lookup(key, &vals); err != nil {
				return total, false
			}
			for _, v := range vals {
				total += v
			}
			continue
		}
		var v uint64
		if err := d.m.Lookup(key, &v); err != nil {
			return total, false
		}
		total += v
	}
	return total, true
}
