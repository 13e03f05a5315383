// Command execsnoop prints every exec on the system through the transport
// chosen with -transport: auto (a ring buffer where the kernel has them, else
// a perf buffer), perfbuf, ringbuf-output or ringbuf-reserve-submit. Run it as
// root; see -h for flags.
package main

import (
	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/examples/internal/app"
)

func main() { app.Main("execsnoop", bpf.Auto, true) }
