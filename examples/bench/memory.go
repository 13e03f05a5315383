package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/bpfstream/bpfstream/internal/testing/bench"
)

// MemoryRow is one JSON line of the memory mode.
type MemoryRow struct {
	Mode        string `json:"mode"` // "memory"
	Path        string `json:"path"`
	Rings       int    `json:"rings"`
	RingBytes   int    `json:"ring_bytes"`
	MappedBytes uint64 `json:"mapped_bytes"`
	HeapBytes   int64  `json:"heap_bytes"`
	Goroutines  int    `json:"goroutines"`
	Threads     int    `json:"threads"`
}

func runMemory(o *options, stdout io.Writer) error {
	var rows []MemoryRow
	for _, n := range o.rings {
		p, err := bench.LoadLive(o.sizes[0], n, 0, o.ringBytes)
		if err != nil {
			return err
		}
		for _, path := range o.paths {
			m, err := bench.MeasureMemory(p, bench.Config{}, path)
			if err != nil {
				p.Close()
				return fmt.Errorf("%d rings, %s: %w", n, path, err)
			}
			rows = append(rows, MemoryRow{"memory", string(path), n, o.ringBytes, m.MappedBytes, m.HeapBytes, m.Goroutines, m.Threads})
		}
		p.Close()
	}
	if o.asJSON {
		return printJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rings\tpath\tmapped MiB\tper ring KiB\tGo heap KiB\tgoroutines\tthreads\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%.1f\t%.0f\t%.0f\t%d\t%d\t\n", r.Rings, r.Path, float64(r.MappedBytes)/(1<<20),
			float64(r.MappedBytes)/float64(r.Rings)/1024, float64(r.HeapBytes)/1024, r.Goroutines, r.Threads)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d KiB rings; mapped: the BPF map mappings the consumer added (address space: the data pages are mapped twice); Go heap: HeapAlloc added, after a collection (libbpf's C heap not counted); goroutines: started beside the caller's; threads: OS threads the process gained; mode=memory\n", o.ringBytes>>10)
	return nil
}
