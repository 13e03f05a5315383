package ringbuf

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// NewMulti returns one [Consumer] for several BPF_MAP_TYPE_RINGBUF maps, like
// libbpf's ring_buffer__add: one goroutine and one epoll instance read them
// all, and Record.Source is the index of the record's map in maps. Records of
// one map arrive in commit order; records of different maps interleave. A
// ring that maps holds more than once (the same map, or two handles with the
// same kernel map ID) is read once, with the first index that holds it as
// Source: two readers of one ring would each hand its records over.
//
// Reading is fair: the consumer takes at most a slice (1024 records or
// 256 KiB) from one ring before it turns to the next ready one, round robin,
// so a busy ring cannot hold a quiet one's records back behind its whole
// backlog.
//
// Only the native reader (the default) reads several maps; [Options.Backend]
// must be [BackendNative]. [Options.DropCounter], when set, is the drop counter of
// all the maps' programs together. [Options.Reorder] merges the rings by
// timestamp (each ring being in order). The consumer does not take ownership
// of the maps.
func NewMulti(maps []*ebpf.Map, opts Options) (*Consumer, error) {
	if len(maps) == 0 {
		return nil, fmt.Errorf("ringbuf: NewMulti: no maps: %w", transport.ErrInvalidOptions)
	}
	for i, m := range maps {
		if err := core.CheckMap(fmt.Sprintf("ringbuf: map %d", i), m, ebpf.RingBuf); err != nil {
			return nil, err
		}
	}
	return open(maps, opts)
}
