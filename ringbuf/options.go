package ringbuf

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/reorder"
)

// Options configure a Consumer. The zero value is valid.
type Options struct {
	// DropCounter is the BPF program's count of samples it failed to
	// reserve or output (see the package doc for the convention). When
	// set, Stats.Lost is the sum of its slots and Stats.LostKnown is true.
	// The consumer does not close it.
	DropCounter *ebpf.Map
	// DrainInterval, when positive, makes the consumer drain the ring at
	// least this often even when the kernel sends no wake-up: needed for
	// producers that submit with BPF_RB_NO_WAKEUP.
	DrainInterval time.Duration
	// Reorder, when set, merges several rings (NewMulti, NewArrayOfMaps)
	// into timestamp order (see Reorder). Records then own their bytes.
	Reorder *Reorder
	// Reader selects the reader implementation; the zero value is the
	// default.
	Reader Reader
}

// Reorder configures the optional re-ordering stage, the same as perfbuf's:
// each ring's records are in commit order, and the stage merges the rings by
// the timestamp that Timestamp reads from each sample, holding a record until
// it is provably the oldest or has waited Window (the latency it adds).
// Records that cannot be placed are delivered at once and counted in
// Stats.Late. Records the stage holds when Consume ends are settled as
// perfbuf's are: handed to the handler before Consume returns, unless the
// handler returned an error (they then wait for the next Consume); those
// still held when the consumer is closed are counted in Stats.Lost.
type Reorder = reorder.Options

// withDefaults validates o and derives the drain timer.
func (o Options) withDefaults() (Options, error) {
	if o.DrainInterval < 0 {
		return o, fmt.Errorf("ringbuf: negative DrainInterval %s: %w", o.DrainInterval, core.ErrInvalidOptions)
	}
	d, err := reorder.DrainTimer(o.Reorder, "ringbuf", o.DrainInterval)
	if err != nil {
		return o, err
	}
	o.DrainInterval = d
	return o, nil
}

// Reader selects the code that reads the ring.
type Reader int

const (
	// ReaderNative (the default) reads the ring in place through
	// bpfstream's own mmap reader: no copy, no lock and no syscall per
	// record, the consumer position published once per slice of records.
	// It is the only reader that can read several rings (NewMulti).
	ReaderNative Reader = iota
	// ReaderCilium reads through cilium/ebpf's ringbuf.Reader, which copies
	// each sample out of the ring and publishes the consumer position after
	// every record. It is the reference the other readers are tested
	// against.
	ReaderCilium
)
