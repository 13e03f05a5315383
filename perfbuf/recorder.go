package perfbuf

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// FlightRecorder keeps only the newest samples of each CPU in overwritable
// perf buffers and reads them on demand, like an aircraft's flight recorder:
// the kernel overwrites the oldest samples when a buffer is full, and nothing
// is read until Snapshot.
//
// Use it for context around a rare event (the last N syscalls before a crash,
// the last packets before an alert) where streaming everything would cost too
// much. Overwritten samples are not counted anywhere: they are the point of
// the mode, not a loss. While Snapshot runs, the buffers are detached from the
// map and the program's writes fail uncounted, so keep snapshots short and
// rare. For a stream where every sample counts, use [New].
type FlightRecorder struct {
	mu     sync.Mutex
	rd     *perf.Reader
	rec    perf.Record
	closed bool
}

// NewFlightRecorder installs overwritable buffers of perCPUBytes (rounded like
// [Options.PerCPUBytes]; 0 means [DefaultPerCPUBytes]) for every online CPU in m.
func NewFlightRecorder(m *ebpf.Map, perCPUBytes int) (*FlightRecorder, error) {
	if err := core.CheckMap("perfbuf: flight recorder", m, ebpf.PerfEventArray); err != nil {
		return nil, err
	}
	opts, err := Options{PerCPUBytes: perCPUBytes}.withDefaults()
	if err != nil {
		return nil, err
	}
	rd, err := perf.NewReaderWithOptions(m, opts.PerCPUBytes, perf.ReaderOptions{Overwritable: true})
	if err != nil {
		return nil, fmt.Errorf("perfbuf: flight recorder: %w", core.WrapPermission(restoreErrno(err), core.CapPerfmon))
	}
	return &FlightRecorder{rd: rd}, nil
}

// Snapshot returns the samples the buffers hold now, oldest first within each
// CPU and CPUs one after the other. The records own their bytes. Samples
// returned by one snapshot are not returned by the next.
func (r *FlightRecorder) Snapshot() ([]transport.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, fmt.Errorf("perfbuf: snapshot: %w", transport.ErrClosed)
	}
	if err := r.rd.Pause(); err != nil {
		return nil, fmt.Errorf("perfbuf: snapshot: pause: %w", err)
	}
	// A deadline in the past makes the reader return what is there and
	// then os.ErrDeadlineExceeded instead of waiting.
	r.rd.SetDeadline(time.Unix(1, 0))
	var out []transport.Record
	var readErr error
	for {
		err := r.rd.ReadInto(&r.rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if r.rec.LostSamples > 0 {
			continue
		}
		out = append(out, transport.Record{Sample: slices.Clone(r.rec.RawSample), CPU: int32(r.rec.CPU)})
	}
	if err := r.rd.Resume(); err != nil {
		return nil, errors.Join(readErr, fmt.Errorf("perfbuf: snapshot: resume: %w", err))
	}
	if readErr != nil {
		return nil, fmt.Errorf("perfbuf: snapshot: %w", readErr)
	}
	// The kernel writes overwritable buffers backwards, so each CPU's
	// records come newest first: reverse each CPU's run.
	for start := 0; start < len(out); {
		end := start
		for end < len(out) && out[end].CPU == out[start].CPU {
			end++
		}
		slices.Reverse(out[start:end])
		start = end
	}
	return out, nil
}

// Close releases the buffers; the map stays open. It is idempotent.
func (r *FlightRecorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.rd.Close()
}
