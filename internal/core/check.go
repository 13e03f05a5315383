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

// WrapPermission adds transport.ErrPermission to err when err is EPERM or EACCES,
// naming the capabilities of need that the process lacks (read from its
// effective set), or, when it holds them all, saying that something else
// denied it; other errors come back unchanged.
func WrapPermission(err error, need Need) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w (%s): %w", transport.ErrPermission, need.explain(), err)
	}
	return err
}

// BadOption is the error for an option outside its allowed range: it names
// the field (as "Options.WakeupBytes"), its value and what is allowed, and
// matches transport.ErrInvalidOptions. pkg prefixes it ("perfbuf").
func BadOption(pkg, field string, value any, want string) error {
	return fmt.Errorf("%s: %s is %v, want %s: %w", pkg, field, value, want, transport.ErrInvalidOptions)
}
