// Command ringbuf-reserve-submit prints every exec on the system, read through
// a ring buffer filled with bpf_ringbuf_reserve/bpf_ringbuf_submit: the
// ringbuf-reserve-submit reference program (package bpf). Run it as root; see
// -h for flags.
package main

import (
	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/examples/internal/app"
)

func main() { app.Main("ringbuf-reserve-submit", bpf.RingbufReserveSubmit, false) }
