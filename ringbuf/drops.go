package ringbuf

import (
	"fmt"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// dropCounter sums a BPF program's count of failed reserve/output calls.
//
// The sum it reports never decreases: the program only adds to its counter,
// so a smaller sum means the map could not be read (closed by its owner), and
// the last full sum is still the best count there is. Close freezes the sum,
// so a consumer keeps reporting its losses after its owner closes the map.
type dropCounter struct {
	m      *ebpf.Map
	perCPU bool

	mu     sync.Mutex
	last   uint64 // the largest full sum read
	frozen bool   // set by freeze: last is final
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

// sum returns the total drops and whether it is known: false without a
// counter, or when the counter can no longer be read and was not frozen
// (the total is then the last sum read).
func (d *dropCounter) sum() (uint64, bool) {
	if d == nil {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.frozen {
		return d.last, true
	}
	total, ok := d.read()
	if ok {
		d.last = max(d.last, total)
	}
	return d.last, ok
}

// freeze reads the counter a last time; sum returns that count from then on.
func (d *dropCounter) freeze() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if total, ok := d.read(); ok {
		d.last = max(d.last, total)
		d.frozen = true
	}
}

// read sums every slot of the counter, ok false when one cannot be read.
func (d *dropCounter) read() (total uint64, ok bool) {
	for key := uint32(0); key < d.m.MaxEntries(); key++ {
		if d.perCPU {
			var vals []uint64
			if err := d.m.Lookup(key, &vals); err != nil {
				return 0, false
			}
			for _, v := range vals {
				total += v
			}
			continue
		}
		var v uint64
		if err := d.m.Lookup(key, &v); err != nil {
			return 0, false
		}
		total += v
	}
	return total, true
}
