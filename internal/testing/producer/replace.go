//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// checkMaps checks the caller's maps of cfg before loading, so that a wrong
// map is named in the error instead of failing the load.
func checkMaps(cfg Config) error {
	if m := cfg.Map; m != nil {
		want := ebpf.PerfEventArray
		if cfg.Kind.Ringbuf() {
			want = ebpf.RingBuf
		}
		if m.Type() != want {
			return fmt.Errorf("producer: %v needs a %v map, not %v", cfg.Kind, want, m.Type())
		}
	}
	if d := cfg.Drops; d != nil {
		if d.Type() != ebpf.PerCPUArray || d.KeySize() != 4 || d.ValueSize() != 8 || d.MaxEntries() < 1 {
			return fmt.Errorf("producer: the drop counter must be a per-CPU array of u32 -> u64 with at least one entry, not a %v of %d-byte keys and %d-byte values with %d entries",
				d.Type(), d.KeySize(), d.ValueSize(), d.MaxEntries())
		}
	}
	return nil
}

// replacements makes spec's output map and drop counter match the caller's
// maps of cfg, and returns them by name for CollectionOptions.MapReplacements
// (nil when the Producer creates its own). The loaded collection then holds
// clones of the caller's maps: closing the Producer leaves them open.
func replacements(spec *ebpf.CollectionSpec, cfg Config, outName string) map[string]*ebpf.Map {
	replace := make(map[string]*ebpf.Map)
	if m := cfg.Map; m != nil {
		ms := spec.Maps[outName]
		ms.MaxEntries, ms.Flags = m.MaxEntries(), m.Flags()
		replace[outName] = m
	}
	if d := cfg.Drops; d != nil {
		ms := spec.Maps[producerMapDrops]
		ms.MaxEntries, ms.Flags = d.MaxEntries(), d.Flags()
		replace[producerMapDrops] = d
	}
	if len(replace) == 0 {
		return nil
	}
	return replace
}
