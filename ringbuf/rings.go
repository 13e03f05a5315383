package ringbuf

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// flagOverwrite is BPF_F_RB_OVERWRITE (include/uapi/linux/bpf.h, Linux
// 6.19): the producer overwrites the oldest records instead of failing when
// the ring is full, so a reader can find the record it is reading replaced
// under it. The consumers here implement the ordinary protocol only.
const flagOverwrite = 1 << 19

// ringMap is one distinct ring buffer to read.
type ringMap struct {
	m      *ebpf.Map
	id     ebpf.MapID // 0 when the kernel does not report it
	name   string
	source int // Record.Source: the first index of maps that holds it
}

// distinctRings checks that maps (already checked to be ring buffers) can be
// read and returns one entry per distinct ring, in the order of their first
// appearance. Two entries of maps are the same ring when the kernel reports
// the same map ID for them (two handles on one map, or two slots of an
// ARRAY_OF_MAPS holding one ring): reading a ring with two readers would
// deliver its records twice, as each reader owns the consumer position in
// turn.
func distinctRings(maps []*ebpf.Map) ([]ringMap, error) {
	rings := make([]ringMap, 0, len(maps))
	seen := make(map[ebpf.MapID]bool, len(maps))
	for i, m := range maps {
		info, err := m.Info()
		if err != nil {
			return nil, fmt.Errorf("ringbuf: map %d: read map info: %w", i, core.WrapPermission(err, core.CapBPF))
		}
		if err := checkFlags(i, info.Flags); err != nil {
			return nil, err
		}
		id, ok := info.ID()
		if ok {
			if seen[id] {
				continue
			}
			seen[id] = true
		}
		rings = append(rings, ringMap{m: m, id: id, name: info.Name, source: i})
	}
	return rings, nil
}

// checkFlags refuses the map flags the readers cannot honour.
func checkFlags(index int, flags uint32) error {
	if flags&flagOverwrite != 0 {
		return fmt.Errorf("ringbuf: map %d has flag BPF_F_RB_OVERWRITE (overwrite mode), which the consumer does not read: %w", index, transport.ErrMapType)
	}
	return nil
}
