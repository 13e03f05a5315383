package ringbuf

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/glue"
	"github.com/bpfstream/bpfstream/internal/reorder"
	"github.com/bpfstream/bpfstream/internal/ring"
	"github.com/bpfstream/bpfstream/transport"
)

// Options configure a [Consumer]. The zero value is valid.
type Options struct {
	// DropCounter is the BPF program's count of samples it failed to
	// reserve or output (see the package doc for the convention). When
	// set, Stats.Lost is the sum of its slots and Stats.LostKnown is true.
	// The consumer does not close it. Stats.Lost never decreases: Close
	// reads the counter a last time and keeps that count, so the map may
	// be closed after the consumer; a map closed while the consumer is open
	// leaves the last count read, with LostKnown false.
	DropCounter *ebpf.Map
	// DrainInterval, when positive, makes the consumer drain the ring at
	// least this often even when the kernel sends no wake-up: needed for
	// producers that submit with BPF_RB_NO_WAKEUP.
	DrainInterval time.Duration
	// Coalesce, when positive, turns on wake-up coalescing for producers
	// with the kernel's default (adaptive) wake-ups, and bounds the delay
	// it adds to a record's delivery. While records arrive fast (several
	// per half of Coalesce), the consumer stops arming the producer's
	// wake-up and drains the ring on a timer of at most Coalesce/2; when
	// the rate falls it waits for wake-ups again. See "Wake-up
	// coalescing" in the package doc. At least 100 µs; [BackendNative]
	// only. Zero (the default) is off.
	//
	// Only for adaptive producers: a producer that forces wake-ups by the
	// amount of data waiting (bpf_ringbuf_query(BPF_RB_AVAIL_DATA), as
	// bpf.Options' [WakeupBytes] policy does) sees the record the consumer
	// holds back as waiting and forces a wake-up on nearly every record,
	// which made such producers 5-10x slower end to end in
	// examples/bench. Producers with BPF_RB_NO_WAKEUP gain nothing either:
	// use DrainInterval for them.
	Coalesce time.Duration
	// Reorder, when set, merges several rings ([NewMulti], [NewArrayOfMaps])
	// into timestamp order (see [transport.Reorder]). Records then own their
	// bytes.
	Reorder *transport.Reorder
	// Backend selects the reader implementation; the zero value is the
	// default.
	Backend Backend
	// Shards, when above 1, drains the rings of a multi-ring consumer on
	// that many goroutines (BackendNative only), each with its own epoll
	// instance and its own share of the rings (ring i goes to shard i mod
	// Shards): a consumer of many busy rings then uses more than one CPU.
	//
	// WITH SHARDS ABOVE 1, THE HANDLER IS CALLED CONCURRENTLY, from up to
	// Shards goroutines at once, and must be safe for that. Each ring's
	// records still come in order, on one goroutine; records of rings in
	// different shards come in no defined order. Stats counts every shard;
	// Close ends every shard's drain, and Consume returns once all of them
	// have returned (no goroutine outlives it); a cancelled context, a
	// handler error or a failure in one shard ends all of them, and Consume
	// returns the first error. Reorder and transport.Batches, which need one
	// handler goroutine, are refused; transport.Records, whose handler is
	// not safe for concurrent calls either, must not be used with Shards.
	// Zero or 1: one goroutine, the one that calls Consume.
	Shards int
}

// withDefaults validates every field of o, and derives the drain timer.
// This is the only check of a consumer's options: the readers take them as
// given.
func (o Options) withDefaults() (Options, error) {
	bad := func(field string, value any, want string) error {
		return core.BadOption("ringbuf", "Options."+field, value, want)
	}
	if o.DrainInterval < 0 {
		return o, bad("DrainInterval", o.DrainInterval, "0 (off) or more")
	}
	if o.Coalesce < 0 || o.Coalesce > 0 && o.Coalesce < ring.MinCoalesce {
		return o, bad("Coalesce", o.Coalesce, fmt.Sprintf("0 (off) or at least %s", ring.MinCoalesce))
	}
	if o.Backend != BackendNative && o.Backend != BackendCilium {
		return o, bad("Backend", int(o.Backend), "BackendNative or BackendCilium")
	}
	if o.Coalesce > 0 && o.Backend != BackendNative {
		return o, fmt.Errorf("ringbuf: Options.Coalesce (%s) needs BackendNative: cilium/ebpf's reader publishes every record; leave Backend unset: %w", o.Coalesce, transport.ErrInvalidOptions)
	}
	if err := glue.CheckShards("ringbuf", o.Shards, o.Backend == BackendNative, o.Reorder != nil); err != nil {
		return o, err
	}
	d, err := reorder.DrainTimer(o.Reorder, "ringbuf", o.DrainInterval)
	if err != nil {
		return o, err
	}
	o.DrainInterval = d
	return o, nil
}

// Backend selects the code that reads the ring.
type Backend int

const (
	// BackendNative (the default) reads the ring in place through
	// bpfstream's own mmap reader: no copy, no lock and no syscall per
	// record, the consumer position published once per slice of records.
	// It is the only reader that can read several rings ([NewMulti]).
	BackendNative Backend = iota
	// BackendCilium reads through cilium/ebpf's ringbuf.Reader, which copies
	// each sample out of the ring and publishes the consumer position after
	// every record. It is the reference the other readers are tested
	// against.
	BackendCilium
)
