package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// options are the flags of both commands.
type options struct {
	typeName string
	btfFile  string
	mapName  string
	output   string
	count    uint64
	duration time.Duration
	metrics  string
	sets     setFlags
}

// setFlags collects -set NAME=VALUE.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, ",") }

func (s *setFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

// parse parses args for cmd, flags before or after the one positional
// argument, which it returns.
func parse(cmd, positional string, args []string, stderr io.Writer) (options, string, int) {
	var o options
	fs := flag.NewFlagSet("bpfstream "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.typeName, "type", "", "decode records as the struct (or typedef) `NAME`; without it, print hex")
	fs.StringVar(&o.output, "o", "json", "output `format`: json (one object per record), text (columns) or hex")
	fs.Uint64Var(&o.count, "n", 0, "stop after `N` records (0: no limit)")
	fs.DurationVar(&o.duration, "for", 0, "stop after `D`, as in 10s (0: no limit)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics (host:port; port 0 picks one, printed at start)")
	if cmd == "tail" {
		fs.StringVar(&o.btfFile, "btf", "", "look -type up in `FILE`, an object file or raw BTF, instead of the kernel's")
	} else {
		fs.StringVar(&o.mapName, "map", "", "read the ring buffer or perf event array `NAME` (needed when the object has several)")
		fs.Var(&o.sets, "set", "set the .rodata constant `NAME=VALUE` before loading (repeatable)")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bpfstream %s %s [flags]\n\n", cmd, positional)
		fs.PrintDefaults()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return o, "", 0
			}
			return o, "", 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "bpfstream %s: want one %s, got %d arguments\n", cmd, positional, len(pos))
		fs.Usage()
		return o, "", 2
	}
	switch o.output {
	case "json", "text", "hex":
	default:
		fmt.Fprintf(stderr, "bpfstream %s: -o %q: want json, text or hex\n", cmd, o.output)
		return o, "", 2
	}
	if o.output == "text" && o.typeName == "" {
		fmt.Fprintf(stderr, "bpfstream %s: -o text needs -type\n", cmd)
		return o, "", 2
	}
	if o.duration < 0 {
		fmt.Fprintf(stderr, "bpfstream %s: negative -for %s\n", cmd, o.duration)
		return o, "", 2
	}
	return o, pos[0], -1
}
