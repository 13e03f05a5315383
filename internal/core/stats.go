package core

import (
	"sync/atomic"

	"github.com/bpfstream/bpfstream/transport"
)

// Counters are the live, atomically updated counters behind Stats. The
// consuming goroutine is the only writer of most fields, so the cost per
// record is a few uncontended atomic adds.
type Counters struct {
	Records      atomic.Uint64
	Bytes        atomic.Uint64
	Lost         atomic.Uint64
	DecodeErrors atomic.Uint64
	Late         atomic.Uint64
	Wakeups      atomic.Uint64
	LostPerCPU   []atomic.Uint64
}

// NewCounters returns counters with room for per-CPU loss counts of nCPU
// CPUs (0 for none).
func NewCounters(nCPU int) *Counters {
	return &Counters{LostPerCPU: make([]atomic.Uint64, nCPU)}
}

// AddLost records n samples lost on cpu (transport.NoCPU when unknown).
func (c *Counters) AddLost(cpu int, n uint64) {
	c.Lost.Add(n)
	if cpu >= 0 && cpu < len(c.LostPerCPU) {
		c.LostPerCPU[cpu].Add(n)
	}
}

// Snapshot copies the counters into a transport.Stats.
func (c *Counters) Snapshot() transport.Stats {
	s := transport.Stats{
		Records:      c.Records.Load(),
		Bytes:        c.Bytes.Load(),
		Lost:         c.Lost.Load(),
		DecodeErrors: c.DecodeErrors.Load(),
		Late:         c.Late.Load(),
		Wakeups:      c.Wakeups.Load(),
	}
	if len(c.LostPerCPU) > 0 {
		s.LostPerCPU = make([]uint64, len(c.LostPerCPU))
		for i := range c.LostPerCPU {
			s.LostPerCPU[i] = c.LostPerCPU[i].Load()
		}
	}
	return s
}
