package bpf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/tracefs"
	"github.com/bpfstream/bpfstream/internal/wakeup"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// Program names one of the reference exec programs.
type Program int

const (
	// Auto is RingbufReserveSubmit when the kernel has BPF ring buffers
	// (Linux 5.8+), PerfbufOutput otherwise.
	Auto Program = iota
	// PerfbufOutput copies each event into a perf event array.
	PerfbufOutput
	// RingbufOutput copies each event into a ring buffer.
	RingbufOutput
	// RingbufReserveSubmit reserves, fills and submits each event in place
	// in a ring buffer.
	RingbufReserveSubmit
)

// String returns "auto", "perfbuf-output", "ringbuf-output" or
// "ringbuf-reserve-submit".
func (p Program) String() string {
	switch p {
	case Auto:
		return "auto"
	case PerfbufOutput:
		return "perfbuf-output"
	case RingbufOutput:
		return "ringbuf-output"
	case RingbufReserveSubmit:
		return "ringbuf-reserve-submit"
	}
	return fmt.Sprintf("Program(%d)", int(p))
}

// ParseProgram parses the names String returns, and "perfbuf" for
// PerfbufOutput.
func ParseProgram(s string) (Program, error) {
	switch s {
	case "auto":
		return Auto, nil
	case "perfbuf", "perfbuf-output":
		return PerfbufOutput, nil
	case "ringbuf-output":
		return RingbufOutput, nil
	case "ringbuf-reserve-submit":
		return RingbufReserveSubmit, nil
	}
	return Auto, fmt.Errorf("bpf: unknown program %q (want auto, perfbuf, ringbuf-output or ringbuf-reserve-submit): %w", s, transport.ErrInvalidOptions)
}

// DefaultRingBytes is the ring size of the ringbuf programs.
const DefaultRingBytes = 256 << 10

// maxRingBytes is the largest power of two a map's max_entries (uint32)
// holds.
const maxRingBytes = 1 << 31

// DefaultDrainInterval is the drain timer Open gives a ringbuf consumer whose
// program may skip wake-ups (WakeupNever, WakeupBytes) when
// Options.Ringbuf.DrainInterval is zero.
const DefaultDrainInterval = 100 * time.Millisecond

// Options configure Open. The zero value is valid: Auto-chosen sizes,
// adaptive wake-ups, tracefs must already be mounted.
type Options struct {
	// RingBytes overrides the ring size of the ringbuf programs
	// (DefaultRingBytes when zero). It must be a power of two and a
	// multiple of the page size, at most 2 GiB.
	RingBytes int
	// Wakeup is the ringbuf programs' wake-up policy; WakeupBytes is its
	// threshold for the WakeupBytes policy (and must be zero otherwise).
	// perfbuf-output ignores both: its wake-ups are set on the consumer
	// (Perfbuf.WakeupEvents, Perfbuf.WakeupBytes).
	Wakeup      ringbuf.Wakeup
	WakeupBytes int
	// Perfbuf configures the perfbuf consumer (per-CPU buffer size,
	// wake-ups, lost callback).
	Perfbuf perfbuf.Options
	// Ringbuf configures the ringbuf consumer. Its DropCounter is ignored:
	// Open sets it to the program's drop counter. A zero DrainInterval
	// becomes DefaultDrainInterval for the WakeupNever and WakeupBytes
	// policies.
	Ringbuf ringbuf.Options
	// NoRingbuf makes Auto choose PerfbufOutput even when the kernel has
	// ring buffers (the fallback, forced).
	NoRingbuf bool
	// MountTracefs lets Open mount tracefs at /sys/kernel/tracing when it
	// is not mounted (needs root).
	MountTracefs bool
}

// ErrNoTracefs means tracefs, which attaching a tracepoint needs, is not
// mounted. Its text says how to mount it: mount -t tracefs nodev
// /sys/kernel/tracing.
var ErrNoTracefs = errors.New("tracefs is not mounted: mount it with `" + tracefs.MountCommand + "` (as root)")

// MountTracefs mounts tracefs at /sys/kernel/tracing unless tracefs is
// already mounted. It needs root (CAP_SYS_ADMIN); without it the error
// matches transport.ErrPermission and ErrNoTracefs.
func MountTracefs() error {
	_, err := tracefs.Ensure()
	return tracefsError(err)
}

// tracefsError adds ErrNoTracefs, which says how to mount tracefs, to an
// error of package tracefs that says it is not mounted.
func tracefsError(err error) error {
	if errors.Is(err, tracefs.ErrNotMounted) {
		return fmt.Errorf("%w: %w", ErrNoTracefs, err)
	}
	return err
}

// Tracer is a loaded and attached reference exec program with a consumer for
// the events it emits (event.Exec).
// Each record's sample decodes into an event.Exec.
type Tracer struct {
	prog     Program
	consumer transport.Consumer
	link     link.Link
	objs     io.Closer
	attempts *ebpf.Map // ringbuf programs only

	closeOnce sync.Once
	closeErr  error
}

// Consumer returns the consumer of the program's map. Tracer.Close closes it.
func (e *Tracer) Consumer() transport.Consumer { return e.consumer }

// Program returns the program that Open loaded: never Auto.
func (e *Tracer) Program() Program { return e.prog }

// Close closes the consumer (unblocking a running Consume), detaches the
// program and releases the programs and maps. It is idempotent and safe from
// any goroutine.
func (e *Tracer) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.consumer != nil {
			errs = append(errs, e.consumer.Close())
		}
		if e.link != nil {
			errs = append(errs, e.link.Close())
		}
		if e.objs != nil {
			errs = append(errs, e.objs.Close())
		}
		if err := errors.Join(errs...); err != nil {
			e.closeErr = fmt.Errorf("bpf: close: %w", err)
		}
	})
	return e.closeErr
}

// attemptCount sums the ringbuf programs' attempts counter: the number of
// events they tried to emit (delivered + dropped).
func (e *Tracer) attemptCount() (uint64, error) {
	if e.attempts == nil {
		return 0, fmt.Errorf("bpf: %s counts no attempts", e.prog)
	}
	var vals []uint64
	if err := e.attempts.Lookup(uint32(0), &vals); err != nil {
		return 0, err
	}
	var n uint64
	for _, v := range vals {
		n += v
	}
	return n, nil
}

// Choose resolves Auto: RingbufReserveSubmit when the kernel supports BPF
// ring buffers and noRingbuf is false, else PerfbufOutput. Other programs
// come back unchanged.
func Choose(p Program, noRingbuf bool) (Program, error) {
	if p != Auto {
		return p, nil
	}
	if noRingbuf {
		return PerfbufOutput, nil
	}
	switch err := features.HaveMapType(ebpf.RingBuf); {
	case err == nil:
		return RingbufReserveSubmit, nil
	case errors.Is(err, ebpf.ErrNotSupported):
		return PerfbufOutput, nil
	default:
		return Auto, fmt.Errorf("bpf: probe for ring buffers: %w", core.WrapPermission(err, core.CapBPF))
	}
}

func (o Options) validate(p Program) error {
	if p != RingbufOutput && p != RingbufReserveSubmit {
		return nil
	}
	if o.RingBytes != 0 {
		page := os.Getpagesize()
		// Above maxRingBytes, the map's uint32 max_entries would wrap.
		if o.RingBytes < page || o.RingBytes%page != 0 || o.RingBytes&(o.RingBytes-1) != 0 || o.RingBytes > maxRingBytes {
			return fmt.Errorf("bpf: RingBytes %d must be a power of two and a multiple of the page size (%d), at most %d: %w",
				o.RingBytes, page, maxRingBytes, transport.ErrInvalidOptions)
		}
	}
	if err := o.Wakeup.Validate(o.WakeupBytes); err != nil {
		return fmt.Errorf("bpf: %w", err) // err ends with ErrInvalidOptions
	}
	return nil
}

// Open loads program p (Auto: see Choose), attaches it to
// tp/sched/sched_process_exec and returns it with a consumer for its map. It
// needs CAP_BPF, CAP_PERFMON and read access to tracefs (CAP_DAC_READ_SEARCH),
// or root, and tracefs mounted: errors match
// transport.ErrPermission (naming the capability), ErrNoTracefs, or
// transport.ErrInvalidOptions.
func Open(p Program, opts Options) (*Tracer, error) {
	p, err := Choose(p, opts.NoRingbuf)
	if err != nil {
		return nil, err
	}
	if err := opts.validate(p); err != nil {
		return nil, err
	}
	_ = rlimit.RemoveMemlock() // no-op with memcg accounting (5.11+)

	e := &Tracer{prog: p}
	ok := false
	defer func() {
		if !ok {
			_ = e.Close()
		}
	}()

	var out, drops *ebpf.Map
	var handle *ebpf.Program
	switch p {
	case PerfbufOutput:
		var objs perfbufOutputObjects
		if err := load(loadPerfbufOutput, opts, &objs); err != nil {
			return nil, err
		}
		e.objs, handle, out = &objs, objs.HandleExec, objs.Pb
	case RingbufOutput:
		var objs ringbufOutputObjects
		if err := load(loadRingbufOutput, opts, &objs); err != nil {
			return nil, err
		}
		e.objs, handle, out, drops, e.attempts = &objs, objs.HandleExec, objs.Rb, objs.Drops, objs.Attempts
	case RingbufReserveSubmit:
		var objs ringbufReserveSubmitObjects
		if err := load(loadRingbufReserveSubmit, opts, &objs); err != nil {
			return nil, err
		}
		e.objs, handle, out, drops, e.attempts = &objs, objs.HandleExec, objs.Rb, objs.Drops, objs.Attempts
	default:
		return nil, fmt.Errorf("bpf: unknown program %d: %w", int(p), transport.ErrInvalidOptions)
	}

	if err := ensureTracefs(opts.MountTracefs); err != nil {
		return nil, err
	}

	// The consumer comes before the link: a perf event array drops writes
	// (uncounted) until the consumer has installed its buffers.
	if drops == nil {
		c, err := perfbuf.New(out, opts.Perfbuf)
		if err != nil {
			return nil, fmt.Errorf("bpf: %s: %w", p, err)
		}
		e.consumer = c
	} else {
		ro := opts.Ringbuf
		ro.DropCounter = drops
		if ro.DrainInterval == 0 && opts.Wakeup.NeedsTimer() {
			ro.DrainInterval = DefaultDrainInterval
		}
		c, err := ringbuf.New(out, ro)
		if err != nil {
			return nil, fmt.Errorf("bpf: %s: %w", p, err)
		}
		e.consumer = c
	}

	l, err := link.Tracepoint("sched", "sched_process_exec", handle, nil)
	if err != nil {
		return nil, attachError(p, err)
	}
	e.link = l
	ok = true
	return e, nil
}

// objects is what bpf2go's generated Objects structs have in common.
type objects interface{ Close() error }

// load loads a bpf2go collection with the options' ring size and wake-up
// policy.
func load(spec func() (*ebpf.CollectionSpec, error), opts Options, objs objects) error {
	s, err := spec()
	if err != nil {
		return fmt.Errorf("bpf: %w", err)
	}
	if rb, ok := s.Maps["rb"]; ok {
		if opts.RingBytes != 0 {
			rb.MaxEntries = uint32(opts.RingBytes)
		}
		for name, v := range wakeup.Policy(opts.Wakeup).Vars(opts.WakeupBytes) {
			if err := s.Variables[name].Set(v); err != nil {
				return fmt.Errorf("bpf: set %s: %w", name, err)
			}
		}
	}
	if err := s.LoadAndAssign(objs, nil); err != nil {
		return fmt.Errorf("bpf: load: %w", core.WrapPermission(err, core.CapTracing))
	}
	return nil
}

func ensureTracefs(mount bool) error {
	if _, err := tracefs.Find(); err == nil {
		return nil
	}
	if !mount {
		return fmt.Errorf("bpf: attach tracepoint sched/sched_process_exec: %w", ErrNoTracefs)
	}
	if _, err := tracefs.Ensure(); err != nil {
		return fmt.Errorf("bpf: attach tracepoint sched/sched_process_exec: %w", tracefsError(err))
	}
	return nil
}

func attachError(p Program, err error) error {
	if strings.Contains(err.Error(), "neither debugfs nor tracefs") {
		// cilium/ebpf looked before tracefs was mounted and remembers it.
		return fmt.Errorf("bpf: %s: attach tracepoint sched/sched_process_exec: %w; this process looked for tracefs before it was mounted, so restart it: %w",
			p, err, ErrNoTracefs)
	}
	return fmt.Errorf("bpf: %s: attach tracepoint sched/sched_process_exec: %w", p, core.WrapPermission(err, core.CapAttach))
}
