package core

import "sync/atomic"

// Stats is a snapshot of a consumer's counters. Every sample a producer
// emitted is either in Records or in Lost.
type Stats struct {
	// Records and Bytes count the samples handed to the handler and their
	// length in bytes (perfbuf lengths include the kernel's padding). A
	// sample counts when it is handed to the handler, so one that a native
	// reader hands over again after its handler panicked counts twice. With
	// a re-ordering stage, only what has left the stage for the handler
	// counts, once the handler has returned: a record whose handler
	// panicked stays in the stage and counts once, when the next Consume
	// hands it over again.
	Records uint64
	Bytes   uint64
	// Lost counts samples the producer emitted that never reached the
	// handler. perfbuf: the kernel's count of samples it could not write
	// because a per-CPU buffer was full (and, for the native reader,
	// samples still unread at Close). ringbuf: the BPF program's own drop
	// counter, when one is configured (the kernel keeps none); without one,
	// ringbuf losses are invisible and LostKnown is false. Both: records a
	// re-ordering stage still held when the consumer was closed.
	Lost uint64
	// LostKnown reports whether Lost covers every way a sample can be lost.
	LostKnown bool
	// LostPerCPU breaks Lost down by CPU for perfbuf (index = CPU); nil for
	// ringbuf.
	LostPerCPU []uint64
	// DecodeErrors counts records that reached user space but failed to
	// decode in a typed adapter (event package). They are also in Records.
	DecodeErrors uint64
	// Late counts records that a re-ordering stage could not place in
	// timestamp order because they arrived after their window had passed.
	// They are still delivered, out of order.
	Late uint64
	// Wakeups counts the times the consumer was woken (or timed out) and
	// found data to drain.
	Wakeups uint64
	// BufferBytes is the kernel buffer memory the consumer holds: per-CPU
	// size times CPUs with a buffer (perfbuf), or the ring sizes (ringbuf).
	BufferBytes uint64
	// PendingBytes is the data waiting in the ring(s) when Stats was taken
	// (ringbuf only).
	PendingBytes uint64
}

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

// AddLost records n samples lost on cpu (NoCPU when unknown).
func (c *Counters) AddLost(cpu int, n uint64) {
	c.Lost.Add(n)
	if cpu >= 0 && cpu < len(c.LostPerCPU) {
		c.LostPerCPU[cpu].Add(n)
	}
}

// Snapshot copies the counters into a Stats.
func (c *Counters) Snapshot() Stats {
	s := Stats{
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
