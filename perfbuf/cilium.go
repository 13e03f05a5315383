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
	core.CopyDrain[perf.Record]
	rd     *perf.Reader
	array  *ring.PerfArray // the handle rd installs its perf events through
	nBytes int
	closed atomic.Bool
}

// newCiliumBackend reads m's entries of cpus, the online CPUs.
func newCiliumBackend(m *ebpf.Map, cpus []int, opts Options, counters *core.Counters) (*ciliumBackend, error) {
	// perf.Reader installs through a dup of the map it is given; given our
	// own handle, the kernel removes its entries when both are closed.
	array, err := ring.OpenPerfArray(m, cpus)
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
	onLost := opts.OnLost
	return &ciliumBackend{
		CopyDrain: core.NewCopyDrain(rd, perf.ErrFlushed, opts.DrainInterval, counters,
			func(rec *perf.Record) (transport.Record, bool) {
				if rec.LostSamples > 0 {
					counters.AddLost(rec.CPU, rec.LostSamples)
					if onLost != nil {
						onLost(rec.CPU, rec.LostSamples)
					}
					return transport.Record{}, false
				}
				return transport.Record{Sample: rec.RawSample, CPU: int32(rec.CPU)}, true
			},
			func(rec *perf.Record) int { return rec.Remaining }),
		rd:     rd,
		array:  array,
		nBytes: rd.BufferSize() * len(cpus),
	}, nil
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
