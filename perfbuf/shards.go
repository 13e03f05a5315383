package perfbuf

import (
	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
)

// shardedBackend drains the CPUs' buffers on several goroutines
// (Options.Shards): each shard is a native reader of its own share of the
// CPUs, with its own epoll instance, drained by its own consume loop.
type shardedBackend struct {
	*glue.Shards[*nativeBackend]
}

// newShardedBackend deals cpus out to opts.Shards shards, the i-th CPU of
// the list to shard i mod Shards.
func newShardedBackend(m *ebpf.Map, cpus []int, opts Options, counters *core.Counters) (_ *shardedBackend, err error) {
	n := min(opts.Shards, len(cpus))
	b := &shardedBackend{glue.NewShards[*nativeBackend]("perfbuf")}
	defer func() {
		if err != nil {
			_ = b.close()
		}
	}()
	for i := range n {
		s, err := newNativeBackend(m, glue.Deal(cpus, i, n), opts, counters)
		if err != nil {
			return nil, err
		}
		b.Add(s)
	}
	return b, nil
}

func (b *shardedBackend) bufferBytes() int {
	n := 0
	for _, s := range b.Readers {
		n += s.bufferBytes()
	}
	return n
}

// lostKnown reports whether every shard's counts hold every loss.
func (b *shardedBackend) lostKnown() bool {
	for _, s := range b.Readers {
		if !s.lostKnown() {
			return false
		}
	}
	return true
}

func (b *shardedBackend) close() error {
	return b.Close((*nativeBackend).close)
}
