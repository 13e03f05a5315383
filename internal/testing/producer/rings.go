//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// maxRings bounds Config.Rings: enough for a ring per CPU on large hosts.
const maxRings = 1 << 16

// checkRings validates the multi-ring fields of cfg and fills BusyRings in.
func checkRings(cfg *Config) error {
	if cfg.Rings == 0 {
		if cfg.BusyRings != 0 {
			return fmt.Errorf("producer: BusyRings %d without Rings", cfg.BusyRings)
		}
		return nil
	}
	switch {
	case cfg.Rings < 0 || cfg.Rings > maxRings:
		return fmt.Errorf("producer: Rings %d out of range [0, %d]", cfg.Rings, maxRings)
	case cfg.Kind != RingbufOutput:
		return fmt.Errorf("producer: Rings needs %v, not %v", RingbufOutput, cfg.Kind)
	case cfg.Map != nil:
		return fmt.Errorf("producer: Rings and Map exclude each other")
	case cfg.Wakeup == WakeupBytes:
		// The bytes policy queries the single ring `rb` (wakeup.h).
		return fmt.Errorf("producer: Rings does not take the %v wake-up policy", cfg.Wakeup)
	case cfg.BusyRings < 0 || cfg.BusyRings > cfg.Rings:
		return fmt.Errorf("producer: BusyRings %d out of range [0, Rings %d]", cfg.BusyRings, cfg.Rings)
	}
	if cfg.BusyRings == 0 {
		cfg.BusyRings = cfg.Rings
	}
	return nil
}

// specRings sizes the array of rings in spec for cfg, or removes it when cfg
// has a single ring.
func specRings(spec *ebpf.CollectionSpec, cfg Config) {
	if cfg.Rings == 0 {
		delete(spec.Maps, producerMapRings)
		return
	}
	delete(spec.Maps, producerMapRb)
	outer := spec.Maps[producerMapRings]
	outer.MaxEntries = uint32(cfg.Rings)
	outer.InnerMap.MaxEntries = uint32(cfg.RingSize)
}

// fillRings creates the rings of Config.Rings and puts them in the array.
func (p *Producer) fillRings() error {
	for i := range p.cfg.Rings {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(p.cfg.RingSize)})
		if err != nil {
			return fmt.Errorf("producer: create ring %d: %w", i, err)
		}
		p.rings = append(p.rings, m)
		if err := p.out.Put(uint32(i), m); err != nil {
			return fmt.Errorf("producer: put ring %d: %w", i, err)
		}
	}
	return nil
}

// Rings returns the ring buffers of Config.Rings, in the order of their
// slots in Map (nil without Config.Rings). They stay owned by the Producer.
func (p *Producer) Rings() []*ebpf.Map { return p.rings }
