package ringbuf

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// shardedBackend drains a multi-ring consumer's rings on several goroutines
// (Options.Shards): each shard is a native reader of its own share of the
// rings, with its own epoll instance, drained by its own consume loop.
type shardedBackend struct {
	shards []*nativeBackend
	// lcs are the shards' own lifecycles: each loop runs under one, the
	// consumer's lifecycle covering them all.
	lcs []*core.Lifecycle
}

// newShardedBackend deals rings out to n shards, ring i to shard i mod n.
func newShardedBackend(rings []ringMap, n int, opts Options, counters *core.Counters) (_ *shardedBackend, err error) {
	n = min(n, len(rings))
	b := &shardedBackend{}
	defer func() {
		if err != nil {
			_ = b.close()
		}
	}()
	for i := range n {
		var share []ringMap
		for j := i; j < len(rings); j += n {
			share = append(share, rings[j])
		}
		s, err := newNativeBackend(share, opts, counters)
		if err != nil {
			return nil, err
		}
		b.shards = append(b.shards, s)
		b.lcs = append(b.lcs, core.NewLifecycle())
	}
	return b, nil
}

// errShardedDrain is what Drain returns: a sharded consumer is drained by
// consume, never through one Drain.
var errShardedDrain = errors.New("ringbuf: a sharded consumer has no single Drain")

// Drain implements core.Source for the backend interface; consume drains the
// shards instead.
func (b *shardedBackend) Drain(*core.Emitter) error { return errShardedDrain }

// Interrupt interrupts every shard's Drain.
func (b *shardedBackend) Interrupt() {
	for _, s := range b.shards {
		s.Interrupt()
	}
}

func (b *shardedBackend) size() int {
	n := 0
	for _, s := range b.shards {
		n += s.size()
	}
	return n
}

func (b *shardedBackend) pending() int {
	n := 0
	for _, s := range b.shards {
		n += s.pending()
	}
	return n
}

// close closes every shard's lifecycle and reader: each running loop then
// returns ErrClosed.
func (b *shardedBackend) close() error {
	var errs []error
	for i, s := range b.shards {
		b.lcs[i].Close()
		errs = append(errs, s.close())
	}
	return errors.Join(errs...)
}

// ConsumeShards implements glue.Sharded: it runs loop for every shard on a
// goroutine of its own, under the consumer's lifecycle lc, and returns once
// every one has returned: the first error, after the others were stopped by
// cancelling their context. A receiver with an idle hook or that borrows
// (the channel API's) is refused: its handler is not safe to call from
// several goroutines.
func (b *shardedBackend) ConsumeShards(ctx context.Context, lc *core.Lifecycle, r transport.Receiver, loop func(ctx context.Context, lc *core.Lifecycle, src core.Source) error) error {
	if ctx == nil {
		return fmt.Errorf("ringbuf: consume: nil context: %w", transport.ErrInvalidOptions)
	}
	if r.Idle != nil || r.Borrow {
		return fmt.Errorf("ringbuf: consume: a consumer with Shards %d calls its handler from several goroutines and cannot feed a channel: %w", len(b.shards), transport.ErrInvalidOptions)
	}
	if err := lc.Begin(); err != nil {
		return fmt.Errorf("ringbuf: consume: %w", err)
	}
	defer lc.End()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i, s := range b.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := loop(ctx, b.lcs[i], s)
			mu.Lock()
			if first == nil {
				first = err
				cancel() // the others stop: their error is not the cause
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return first
}
