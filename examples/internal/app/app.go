// Package app is the main program shared by the exec examples: it loads one
// of the reference exec programs (package bpf), prints each exec, and prints
// a summary at exit. Each example is a thin main that calls Main.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bpfstream/bpfstream/bpf"
	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/examples/internal/output"
	"github.com/bpfstream/bpfstream/transport"
)

// Main runs the example named name with program p, and exits. When
// transportFlag is set, a -transport flag may choose another program.
func Main(name string, p bpf.Program, transportFlag bool) {
	os.Exit(Run(name, p, transportFlag, os.Args[1:], os.Stdout, os.Stderr))
}

// Run is Main without the exit: it returns the exit status (0 when stopped
// by a signal, -count or -duration; 1 on errors; 2 for bad flags).
func Run(name string, p bpf.Program, transportFlag bool, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print one JSON object per event")
	count := fs.Uint64("count", 0, "exit after `N` events (0: no limit)")
	duration := fs.Duration("duration", 0, "exit after `D` (0: no limit)")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics on http://`ADDR`/metrics (host:port; port 0 picks a free port, printed at start)")
	statsEvery := fs.Duration("stats", 0, "print a summary line (records/s, lost, bytes pending) to stderr every `D` (0: only at exit)")
	var k knobs
	k.register(fs)
	transportName := p.String()
	if transportFlag {
		fs.StringVar(&transportName, "transport", transportName, "`program`: auto, perfbuf, ringbuf-output or ringbuf-reserve-submit")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [flags]\n\nPrints every exec on the system until SIGINT or SIGTERM (needs root).\nReads %s.\nFlags marked ringbuf or perfbuf apply to that transport only.\n\n", name, transportOf(p))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments: %s\n", name, strings.Join(fs.Args(), " "))
		return 2
	}
	prog, err := bpf.ParseProgram(transportName)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 2
	}
	if *duration < 0 {
		fmt.Fprintf(stderr, "%s: negative -duration %s\n", name, *duration)
		return 2
	}
	if *statsEvery < 0 {
		fmt.Fprintf(stderr, "%s: negative -stats %s\n", name, *statsEvery)
		return 2
	}
	// Resolve auto now: which flags apply depends on the transport.
	if prog, err = bpf.Choose(prog, false); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, describe(err))
		return 1
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opts, err := k.options(prog, set)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	var ms *metricsServer
	if *metricsAddr != "" {
		if ms, err = listenMetrics(*metricsAddr); err != nil {
			fmt.Fprintf(stderr, "%s: -metrics: %s\n", name, oneLine(err))
			return 1
		}
	}
	e, err := bpf.Open(prog, opts)
	if err != nil {
		if ms != nil {
			_ = ms.stop()
		}
		fmt.Fprintf(stderr, "%s: %s\n", name, describe(err))
		if errors.Is(err, transport.ErrInvalidOptions) {
			return 2
		}
		return 1
	}
	defer e.Close()
	c := e.Consumer()
	dec := event.NewExecDecoder()

	// The server and the stats line read the consumer's Stats: they stop
	// (deferred, so before e.Close) before it is closed.
	if ms != nil {
		if err := ms.serve(name, e.Program().String(), c, dec.Stats); err != nil {
			_ = ms.stop()
			fmt.Fprintf(stderr, "%s: -metrics: %s\n", name, oneLine(err))
			return 1
		}
		defer func() {
			if err := ms.stop(); err != nil {
				fmt.Fprintf(stderr, "%s: metrics server: %s\n", name, oneLine(err))
			}
		}()
		fmt.Fprintf(stderr, "%s: metrics on %s\n", name, ms.URL())
	}
	stopStats := func() {}
	if *statsEvery > 0 {
		stopStats = reportStats(stderr, name, *statsEvery, func() transport.Stats { return dec.Stats(c) })
	}
	defer stopStats()

	pr := output.NewPrinter(stdout, *jsonOut)
	if err := pr.Header(); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
		return 1
	}
	var printed uint64
	h := event.Handler(dec, func(ev *event.Exec, rec transport.Record) error {
		if err := pr.Print(time.Now(), ev, int(rec.CPU)); err != nil {
			return err
		}
		printed++
		if *count > 0 && printed >= *count {
			return errCountReached // stops Consume before the next record
		}
		return nil
	}, nil)
	err = c.Consume(ctx, h)
	stopStats() // before the summary, which goes to the same writer

	s := dec.Stats(c)
	label := name
	if label != e.Program().String() {
		label += " (" + e.Program().String() + ")"
	}
	fmt.Fprintln(stderr, output.Summary(label, s))
	if errors.Is(err, errCountReached) ||
		ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, oneLine(err))
	return 1
}

// errCountReached ends consumption once -count events are printed.
var errCountReached = errors.New("count reached")

// describe turns an Open error into one line that says what is missing.
func describe(err error) string {
	if errors.Is(err, transport.ErrPermission) {
		return "run as root: " + oneLine(err)
	}
	return oneLine(err) // ErrNoTracefs says how to mount tracefs

}

// oneLine flattens multi-line errors (verifier logs) into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
