package ringbuf

import (
	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
)

// shardedBackend drains a multi-ring consumer's rings on several goroutines
// (Options.Shards): each shard is a native reader of its own share of the
// rings, with its own epoll instance, drained by its own consume loop.
type shardedBackend struct {
	*glue.Shards[*nativeBackend]
}

// newShardedBackend deals rings out to n shards, ring i to shard i mod n.
func newShardedBackend(rings []ringMap, n int, opts Options, counters *core.Counters) (_ *shardedBackend, err error) {
	n = min(n, len(rings))
	b := &shardedBackend{glue.NewShards[*nativeBackend]("ringbuf")}
	defer func() {
		if err != nil {
			_ = b.close()
		}
	}()
	for i := range n {
		s, err := newNativeBackend(glue.Deal(rings, i, n), opts, counters)
		if err != nil {
			return nil, err
		}
		b.Add(s)
	}
	return b, nil
}

func (b *shardedBackend) size() int {
	n := 0
	for _, s := range b.Readers {
		n += s.size()
	}
	return n
}

func (b *shardedBackend) pending() int {
	n := 0
	for _, s := range b.Readers {
		n += s.pending()
	}
	return n
}

func (b *shardedBackend) close() error {
	return b.Close((*nativeBackend).close)
}
