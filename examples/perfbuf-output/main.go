// Command perfbuf-output prints every exec on the system, read through a perf
// event array: the perfbuf-output reference program (package bpf). Run it as
// root; see -h for flags.
package main

import (
	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/examples/internal/app"
)

func main() { app.Main("perfbuf-output", bpf.PerfbufOutput, false) }
