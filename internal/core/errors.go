package core

import "errors"

var (
	// ErrClosed is returned (wrapped) by Consume once Close has been called.
	ErrClosed = errors.New("bpfstream: consumer closed")
	// ErrBusy is returned by Consume when another Consume is already running
	// on the same consumer.
	ErrBusy = errors.New("bpfstream: consume already running")
	// ErrMapType means a map cannot be read by the requested transport.
	ErrMapType = errors.New("bpfstream: unsupported map type")
	// ErrInvalidOptions means an option value the kernel would refuse, or
	// that contradicts another option.
	ErrInvalidOptions = errors.New("bpfstream: invalid options")
	// ErrPermission means the process lacks a capability it needs; the
	// error text names the capability.
	ErrPermission = errors.New("bpfstream: missing privileges")
)
