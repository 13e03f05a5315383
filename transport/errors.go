package transport

import "errors"

// Sentinel errors, for errors.Is. Errors from this module wrap one of them
// and say in their text what was wrong.
var (
	// ErrClosed is returned (wrapped) by Consume once Close has been
	// called, whether Close interrupted it or came first.
	ErrClosed = errors.New("bpfstream: consumer closed")
	// ErrBusy is returned by Consume when another Consume is already
	// running on the same consumer.
	ErrBusy = errors.New("bpfstream: consume already running")
	// ErrInUse means a map, or a CPU's entry of a perf event array, is
	// already read by an open consumer in this process (the error names
	// the map): two readers of one consumer position would each hand its
	// records over. Close the other consumer first; a consumer opened
	// after that Close has returned takes over.
	ErrInUse = errors.New("bpfstream: map already being consumed")
	// ErrMapType means a map that the chosen transport cannot read (the
	// error names the map's type and the wanted ones).
	ErrMapType = errors.New("bpfstream: unsupported map type")
	// ErrInvalidOptions means a nil argument, an option value the kernel
	// would refuse, or one that contradicts another.
	ErrInvalidOptions = errors.New("bpfstream: invalid options")
	// ErrPermission means the process lacks a capability it needs; the
	// error text names the capability.
	ErrPermission = errors.New("bpfstream: missing privileges")
	// ErrCorrupt means a kernel buffer holds a record that cannot be: a
	// length beyond the data the producer published or beyond the buffer,
	// or a misaligned position. The consumer is unusable afterwards: close
	// it and open a new one.
	ErrCorrupt = errors.New("bpfstream: corrupt buffer")
)
