package core

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// CheckMap returns a clear error unless m is an open map of one of the wanted
// types. name prefixes the error ("ringbuf").
func CheckMap(name string, m *ebpf.Map, want ...ebpf.MapType) error {
	if m == nil {
		return fmt.Errorf("%s: nil map: %w", name, transport.ErrInvalidOptions)
	}
	if m.FD() < 0 {
		return fmt.Errorf("%s: map is closed: %w", name, transport.ErrInvalidOptions)
	}
	for _, t := range want {
		if m.Type() == t {
			return nil
		}
	}
	names := make([]string, len(want))
	for i, t := range want {
		names[i] = t.String()
	}
	return fmt.Errorf("%s: map has type %s, want %s: %w", name, m.Type(), strings.Join(names, " or "), transport.ErrMapType)
}

// WrapPermission turns err into a permission error when it is EPERM or
// EACCES: its text is err's, then what of need the process lacks (read from
// its effective set), or, when it holds them all, what else can deny it, then
// transport.ErrPermission; it matches both err and transport.ErrPermission.
// Other errors come back unchanged.
func WrapPermission(err error, need Need) error {
	if err == nil || !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES) {
		return err
	}
	// cilium/ebpf suggests MEMLOCK for every EPERM; explain names it where
	// it can be the cause.
	cause := strings.ReplaceAll(err.Error(), memlockHint, "")
	return &permissionError{msg: cause + ": " + need.explain() + ": " + transport.ErrPermission.Error(), err: err}
}

// memlockHint is what cilium/ebpf appends to an EPERM from map or program
// creation.
const memlockHint = " (MEMLOCK may be too low, consider rlimit.RemoveMemlock)"

// permissionError is an error that matches both the kernel's error and
// transport.ErrPermission, with the sentinel once, at the end of its text.
type permissionError struct {
	msg string
	err error
}

func (e *permissionError) Error() string   { return e.msg }
func (e *permissionError) Unwrap() []error { return []error{e.err, transport.ErrPermission} }

// BadOption is the error for an option outside its allowed range: it names
// the field (as "Options.WakeupBytes"), its value and what is allowed, and
// matches transport.ErrInvalidOptions. pkg prefixes it ("perfbuf").
func BadOption(pkg, field string, value any, want string) error {
	return fmt.Errorf("%s: %s is %v, want %s: %w", pkg, field, value, want, transport.ErrInvalidOptions)
}
