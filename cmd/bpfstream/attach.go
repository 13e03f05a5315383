package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// errNotAttachable is a section name attach does not know.
var errNotAttachable = errors.New("section not attachable by bpfstream")

// attach attaches prog as its section name says, as libbpf does.
func attach(section string, prog *ebpf.Program) (link.Link, error) {
	kind, target, _ := strings.Cut(section, "/")
	switch kind {
	case "tracepoint", "tp":
		group, name, ok := strings.Cut(target, "/")
		if !ok {
			return nil, fmt.Errorf("section %q: want tracepoint/GROUP/NAME", section)
		}
		return link.Tracepoint(group, name, prog, nil)
	case "raw_tracepoint", "raw_tp":
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: target, Program: prog})
	case "tp_btf", "fentry", "fexit", "fmod_ret":
		return link.AttachTracing(link.TracingOptions{Program: prog})
	case "kprobe", "ksyscall":
		return link.Kprobe(target, prog, nil)
	case "kretprobe", "kretsyscall":
		return link.Kretprobe(target, prog, nil)
	}
	return nil, fmt.Errorf("section %q: %w", section, errNotAttachable)
}
