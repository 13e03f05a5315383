// Command bpfstream reads BPF ring buffers and perf event arrays and prints
// their records, decoded by the BTF that describes them.
//
//	bpfstream tail MAP [flags]       read a map another process created
//	bpfstream run OBJECT.o [flags]   load an object, attach it, read its map
//
// See "bpfstream help" for the flags.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  bpfstream tail MAP [flags]       read a ring buffer or perf event array another process created
  bpfstream run OBJECT.o [flags]   load a BPF object, attach its programs, read its ring or perf map

MAP is a path pinned in bpffs or id:N (see bpftool map list). Records are
decoded by -type NAME, a struct found in BTF: for tail, the BTF of the
programs that use the map and of the maps those programs use, or -btf FILE
(an object file or raw BTF); for run, the object's own BTF. Without -type
records are printed as hex. Flags may follow the positional argument.

A perf event array has one buffer per CPU, which tail replaces with its own:
the process that created the map stops receiving records until it restores
them. A ring buffer has one consumer position, shared with every other
reader: do not tail a ring that its owner reads. Maps of other types are
refused.

Run "bpfstream tail -h" or "bpfstream run -h" for the flags.
`

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }

// Main runs the command with args (without the program name) and returns
// the exit status: 0, 1 for a failure, 2 for a usage error.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "tail":
		return tail(args[1:], stdout, stderr)
	case "run":
		return run(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bpfstream: unknown command %q\n\n%s", args[0], usage)
	return 2
}
