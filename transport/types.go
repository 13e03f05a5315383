package transport

import "github.com/bpfstream/bpfstream/internal/core"

// The shared types live in an internal package below perfbuf and ringbuf so
// that neither needs to import this package; these aliases are their public
// names.

type (
	// Consumer reads samples from one or more BPF maps. See core docs on
	// each method; every implementation passes transporttest.Run.
	Consumer = core.Consumer
	// Record is one sample: its bytes (borrowed on the callback path), the
	// CPU that produced it (perfbuf) or NoCPU, and the index of its map.
	Record = core.Record
	// Handler receives records on the callback path.
	Handler = core.Handler
	// Stats is a snapshot of a consumer's counters.
	Stats = core.Stats
	// Kind names the transport behind a consumer.
	Kind = core.Kind
)

// Kinds of consumer.
const (
	KindUnknown = core.KindUnknown
	KindPerfbuf = core.KindPerfbuf
	KindRingbuf = core.KindRingbuf
	KindFake    = core.KindFake
)

// NoCPU is Record.CPU for transports that do not say which CPU produced a
// sample (ringbuf).
const NoCPU = core.NoCPU

// Sentinel errors, for errors.Is.
var (
	// ErrClosed: Consume after (or interrupted by) Close.
	ErrClosed = core.ErrClosed
	// ErrBusy: a second concurrent Consume on one consumer.
	ErrBusy = core.ErrBusy
	// ErrMapType: a map that the chosen transport cannot read.
	ErrMapType = core.ErrMapType
	// ErrInvalidOptions: an option the kernel would refuse or that
	// contradicts another.
	ErrInvalidOptions = core.ErrInvalidOptions
	// ErrPermission: a missing capability, named in the error text.
	ErrPermission = core.ErrPermission
)
