package perfbuf

import (
	"errors"
	"strings"
	"sync/atomic"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/ring"
	"github.com/bpfstream/bpfstream/transport"
)

// ciliumBackend reads through cilium/ebpf's perf.Reader: the reference
// implementation, which copies each sample out of the buffer.
type ciliumBackend struct {
	unfinished bool // b.rec was being handed over when its handler panicked
	closed     atomic.Bool
	rd         *perf.Reader
	array      *ring.PerfArray // the handle rd installs its perf events through
	rec        perf.Record
	counters   *core.Counters
	timer      core.DrainTimer
	onLost     func(cpu int, n uint64)
	nBytes     int
}

func newCiliumBackend(m *ebpf.Map, opts Options, counters *core.Counters) (*ciliumBackend, error) {
	// perf.Reader installs through a dup of the map it is given; given our
	// own handle, the kernel removes its entries when both are closed.
	array, err := ring.OpenPerfArray(m, onlineCPUList(int(m.MaxEntries())))
	if err != nil {
		return nil, err
	}
	rd, err := perf.NewReaderWithOptions(array.Map, opts.PerCPUBytes, perf.ReaderOptions{
		WakeupEvents: opts.WakeupEvents,
		Watermark:    opts.WakeupBytes,
	})
	if err != nil {
		_ = array.Close()
		return nil, restoreErrno(err)
	}
	return &ciliumBackend{
		rd:       rd,
		array:    array,
		counters: counters,
		timer:    core.DrainTimer{Interval: opts.DrainInterval},
		onLost:   opts.OnLost,
		nBytes:   rd.BufferSize() * onlineCPUs(int(m.MaxEntries())),
	}, nil
}

func (b *ciliumBackend) Drain(emit *core.Emitter) error {
	// We are the reader's only caller, so it is idle and SetDeadline
	// does not wait for its lock.
	if b.unfinished {
		// The handler of b.rec panicked: the reader has taken it out of
		// the buffer, so hand it over again before reading on.
		return b.emit(emit)
	}
	b.timer.Arm(b.rd.SetDeadline)
	for first := true; ; first = false {
		if err := b.rd.ReadInto(&b.rec); err != nil {
			return b.timer.ReadError(err, perf.ErrFlushed)
		}
		if first {
			b.counters.Wakeups.Add(1)
		}
		if b.rec.LostSamples > 0 {
			b.counters.AddLost(b.rec.CPU, b.rec.LostSamples)
			if b.onLost != nil {
				b.onLost(b.rec.CPU, b.rec.LostSamples)
			}
		} else if err := b.emit(emit); err != nil {
			return err
		}
		if b.rec.Remaining == 0 {
			return nil
		}
	}
}

func (b *ciliumBackend) Interrupt() { _ = b.rd.Flush() }

func (b *ciliumBackend) bufferBytes() int { return b.nBytes }

// lostKnown is false once closed: perf.Reader drops the samples and the
// losses its buffers still hold uncounted.
func (b *ciliumBackend) lostKnown() bool { return !b.closed.Load() }

// close takes the reader's entries out of the map, which perf.Reader.Close
// does not do: without a handle of our own, Pause deletes them.
func (b *ciliumBackend) close() error {
	b.closed.Store(true)
	var err error
	if !b.array.Own {
		err = b.rd.Pause()
	}
	return errors.Join(err, b.rd.Close(), b.array.Close())
}

// restoreErrno gives back the errno of a permission error that
// perf.NewReaderWithOptions flattened to text (it wraps the error of each
// CPU's ring with %v), so that core.WrapPermission recognises it.
func restoreErrno(err error) error {
	for _, errno := range []unix.Errno{unix.EPERM, unix.EACCES} {
		if !errors.Is(err, errno) && strings.HasSuffix(err.Error(), errno.Error()) {
			return &errnoError{err, errno}
		}
	}
	return err
}

// errnoError is an error whose chain lost the errno its text ends with.
type errnoError struct {
	err   error
	errno unix.Errno
}

func (e *errnoError) Error() string   { return e.err.Error() }
func (e *errnoError) Unwrap() []error { return []error{e.err, e.errno} }

// emit hands b.rec's sample over. b.unfinished stays set when the handler
// panics, so that the next Drain hands the same record over again.
func (b *ciliumBackend) emit(emit *core.Emitter) error {
	b.unfinished = true
	err := emit.Emit(transport.Record{Sample: b.rec.RawSample, CPU: int32(b.rec.CPU)})
	b.unfinished = false
	return err
}
