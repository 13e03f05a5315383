package ring

import (
	"time"

	"github.com/bpfstream/bpfstream/internal/core"
)

// Defaults for Options.
const (
	// DefaultSliceRecords is the most records handed over from one buffer
	// before the reader publishes its position and turns to the next buffer.
	DefaultSliceRecords = 1024
	// DefaultSliceBytes is the same bound in bytes of buffer consumed.
	DefaultSliceBytes = 256 << 10
	// DefaultPublishBytes is how far the reader's position may run ahead
	// of the position the kernel sees, within a slice.
	DefaultPublishBytes = 4 << 10
)

// Options tune a reader. The zero value is valid.
type Options struct {
	// Interval, when positive, bounds each wait in epoll: the reader then
	// drains at least this often, also without a wake-up from the kernel.
	Interval time.Duration
	// SliceRecords and SliceBytes bound a slice: what the reader takes from
	// one buffer before it publishes the consumer position and moves on to
	// the next buffer (round robin, so a busy buffer cannot starve a quiet
	// one). Zero means DefaultSliceRecords and DefaultSliceBytes.
	SliceRecords int
	SliceBytes   int
	// PublishBytes bounds how far the published consumer position lags
	// behind the records already handed over, within a slice. Zero means
	// DefaultPublishBytes. It matters beyond free space: a ringbuf
	// producer's wake-up policy may read BPF_RB_AVAIL_DATA, which is
	// computed from the published position, so a stale position makes
	// such a producer force a wake-up with every record.
	PublishBytes int
	// Coalesce, when positive (ring buffers only, at least MinCoalesce),
	// turns on wake-up coalescing with this bound on the delay it adds
	// (see coalesce.go).
	Coalesce time.Duration
	// Counters receives Wakeups (and, for perf, losses). Required.
	Counters *core.Counters
}

func (o Options) withDefaults() Options {
	if o.SliceRecords <= 0 {
		o.SliceRecords = DefaultSliceRecords
	}
	if o.SliceBytes <= 0 {
		o.SliceBytes = DefaultSliceBytes
	}
	if o.PublishBytes <= 0 {
		o.PublishBytes = DefaultPublishBytes
	}
	if o.Counters == nil {
		o.Counters = core.NewCounters(0)
	}
	return o
}
