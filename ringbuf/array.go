package ringbuf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// NewArrayOfMaps returns one [Consumer] for every ring buffer in outer, a
// BPF_MAP_TYPE_ARRAY_OF_MAPS whose slots hold BPF_MAP_TYPE_RINGBUF maps (the
// layout of a ring per CPU that Falco's modern probe uses). It reads them like
// [NewMulti]: Record.Source is the slot index. Every slot must hold a ring. Set
// [Options.Reorder] to merge the rings by timestamp.
//
// Several slots may hold the same ring (Falco's ring per group of CPUs): the
// ring is read once, and its records carry the first (lowest) slot that
// holds it as Source. Stats.BufferBytes counts it once.
//
// The consumer opens its own handles on the inner maps and closes them with
// itself; outer stays the caller's.
func NewArrayOfMaps(outer *ebpf.Map, opts Options) (*Consumer, error) {
	if err := core.CheckMap("ringbuf: array of maps", outer, ebpf.ArrayOfMaps); err != nil {
		return nil, err
	}
	inner := make([]*ebpf.Map, 0, outer.MaxEntries())
	closeAll := func() {
		for _, m := range inner {
			m.Close()
		}
	}
	for slot := uint32(0); slot < outer.MaxEntries(); slot++ {
		var m *ebpf.Map
		if err := outer.Lookup(slot, &m); err != nil {
			closeAll()
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				return nil, fmt.Errorf("ringbuf: array of maps: slot %d holds no ring: %w", slot, transport.ErrInvalidOptions)
			}
			return nil, fmt.Errorf("ringbuf: array of maps: slot %d: %w", slot, core.WrapPermission(err, core.CapBPF))
		}
		inner = append(inner, m)
	}
	c, err := NewMulti(inner, opts)
	if err != nil {
		closeAll()
		return nil, err
	}
	c.owned = inner
	return c, nil
}
