// Command ringbuf-output prints every exec on the system, read through a ring
// buffer filled with bpf_ringbuf_output: the ringbuf-output reference program
// (package bpf). Run it as root; see -h for flags.
package main

import (
	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/examples/internal/app"
)

func main() { app.Main("ringbuf-output", bpf.RingbufOutput, false) }
