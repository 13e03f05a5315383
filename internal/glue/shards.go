package glue

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// MaxShards bounds the consumers' Options.Shards: more goroutines than that
// would only contend for the CPUs.
const MaxShards = 1024

// Shards is a reader split into several readers of its own share of the
// buffers, each with its own epoll instance, drained by its own consume loop
// on a goroutine of its own (the consumers' Options.Shards). It implements
// Sharded. S is the consumer's native reader.
type Shards[S core.Source] struct {
	name string // prefixes errors: "ringbuf"
	// Readers are the shards' readers, in the order they were added.
	Readers []S
	// lcs are the shards' own lifecycles: each loop runs under one, the
	// consumer's lifecycle covering them all.
	lcs []*core.Lifecycle
}

// NewShards returns a reader of no shards; name prefixes its errors.
func NewShards[S core.Source](name string) *Shards[S] { return &Shards[S]{name: name} }

// Add adds a shard that reads with rd.
func (b *Shards[S]) Add(rd S) {
	b.Readers = append(b.Readers, rd)
	b.lcs = append(b.lcs, core.NewLifecycle())
}

// Deal returns the share of items that shard i of n reads: item j goes to
// shard j mod n.
func Deal[T any](items []T, i, n int) []T {
	var share []T
	for j := i; j < len(items); j += n {
		share = append(share, items[j])
	}
	return share
}

// errShardedDrain is what Drain returns: a sharded reader is drained by
// ConsumeShards, never through one Drain.
var errShardedDrain = errors.New("a sharded consumer has no single Drain")

// Drain implements core.Source, for the consumers' backend interfaces;
// ConsumeShards drains the shards instead.
func (b *Shards[S]) Drain(*core.Emitter) error {
	return fmt.Errorf("%s: %w", b.name, errShardedDrain)
}

// Interrupt interrupts every shard's Drain.
func (b *Shards[S]) Interrupt() {
	for _, rd := range b.Readers {
		rd.Interrupt()
	}
}

// Close closes every shard's lifecycle (each running loop then returns
// ErrClosed) and then its reader, with closeReader.
func (b *Shards[S]) Close(closeReader func(S) error) error {
	var errs []error
	for i, rd := range b.Readers {
		b.lcs[i].Close()
		errs = append(errs, closeReader(rd))
	}
	return errors.Join(errs...)
}

// ConsumeShards implements Sharded: it runs loop for every shard on a
// goroutine of its own, under the consumer's lifecycle lc, and returns once
// every one has returned: the first error, after the others were stopped by
// cancelling their context. A receiver with an idle hook or that borrows
// (the channel API's) is refused: its handler is not safe to call from
// several goroutines.
func (b *Shards[S]) ConsumeShards(ctx context.Context, lc *core.Lifecycle, r transport.Receiver, loop func(ctx context.Context, lc *core.Lifecycle, src core.Source) error) error {
	if ctx == nil {
		return fmt.Errorf("%s: consume: nil context: %w", b.name, transport.ErrInvalidOptions)
	}
	if r.Idle != nil || r.Borrow {
		return fmt.Errorf("%s: consume: a consumer with Shards %d calls its handler from several goroutines and cannot feed a channel: %w", b.name, len(b.Readers), transport.ErrInvalidOptions)
	}
	if err := lc.Begin(); err != nil {
		return fmt.Errorf("%s: consume: %w", b.name, err)
	}
	defer lc.End()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i, rd := range b.Readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := loop(ctx, b.lcs[i], rd)
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

// CheckShards validates a consumer's Options.Shards: 0 to MaxShards, and
// above 1 only with the native reader and no re-ordering stage, both of
// which need one handler goroutine.
func CheckShards(name string, shards int, native, reorder bool) error {
	if shards < 0 || shards > MaxShards {
		return fmt.Errorf("%s: Shards %d: want 0 to %d: %w", name, shards, MaxShards, transport.ErrInvalidOptions)
	}
	if shards > 1 && (!native || reorder) {
		return fmt.Errorf("%s: Shards %d needs BackendNative and no Reorder (it calls the handler from several goroutines): %w", name, shards, transport.ErrInvalidOptions)
	}
	return nil
}
