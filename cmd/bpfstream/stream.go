package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// errCount stops Consume once -n records are printed.
var errCount = errors.New("record count reached")

// maxDecodeErrorLines bounds the decode errors printed one by one; the
// summary counts them all.
const maxDecodeErrorLines = 10

// lossInterval is how often losses are checked and reported.
const lossInterval = time.Second

// stream prints c's records as o says until -n, -for, SIGINT or SIGTERM,
// reports losses and a summary on stderr, and closes c.
func stream(name string, c transport.Consumer, dec *event.BTFDecoder, o options, stdout, stderr io.Writer) (status int) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	stats := c.Stats
	if dec != nil {
		stats = func() transport.Stats { return dec.Stats(c) }
	}

	defer func() {
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "bpfstream: close %s: %v\n", name, err)
			status = 1
		}
	}()
	if o.metrics != "" {
		ms, err := serveMetrics(o.metrics, name, c, stats)
		if err != nil {
			fmt.Fprintf(stderr, "bpfstream: -metrics: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bpfstream: metrics on %s\n", ms.url())
		defer func() {
			if err := ms.stop(); err != nil {
				fmt.Fprintf(stderr, "bpfstream: metrics server: %v\n", err)
			}
		}()
	}
	p, err := newPrinter(o.output, dec)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstream: %v\n", err)
		return 1
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	p.header(w)
	stopLosses := reportLosses(stderr, name, c.Stats)
	var printed, failed uint64
	// One record per call and a flush after each: a terminal shows each
	// record as it comes, and -n consumes no record it does not print.
	err = c.Consume(ctx, func(rec transport.Record) error {
		if err := p.print(w, rec); err != nil {
			if failed++; failed <= maxDecodeErrorLines {
				fmt.Fprintf(stderr, "bpfstream: %s: %v\n", name, err)
			}
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if printed++; o.count > 0 && printed >= o.count {
			return errCount
		}
		return nil
	})
	stopLosses()
	if ferr := w.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	s := stats()
	fmt.Fprintf(stderr, "bpfstream: %s: %d records printed, %d received, %s, %d decode errors\n",
		name, printed, s.Records, lostString(s), s.DecodeErrors)
	if err != nil && !errors.Is(err, errCount) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(stderr, "bpfstream: %s: %v\n", name, err)
		status = 1
	}
	return status
}

func lostString(s transport.Stats) string {
	if !s.LostKnown && s.Lost == 0 {
		return "losses not counted (the ring's program keeps no drop counter)"
	}
	return fmt.Sprintf("%d lost", s.Lost)
}

// reportLosses prints a line to w each time stats().Lost grows, until the
// returned stop, which waits for the goroutine to end.
func reportLosses(w io.Writer, name string, stats func() transport.Stats) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(lossInterval)
		defer t.Stop()
		var last uint64
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if lost := stats().Lost; lost > last {
					fmt.Fprintf(w, "bpfstream: %s: %d records lost (%d in all)\n", name, lost-last, lost)
					last = lost
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
