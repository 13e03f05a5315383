// Package streamtest helps the transport tests: it loads the test producer
// and verifies streams of test-producer samples: every sequence
// number exactly once, in order per CPU (perfbuf) or globally (ringbuf), and
// the CPU a record claims equal to the CPU that built the sample.
package streamtest

import (
	"fmt"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/transport"
)

// Checker accumulates records. Its zero value is ready to use; it is not safe
// for concurrent use.
type Checker struct {
	// Unordered skips the order check: ringbuf records from producers on
	// several CPUs arrive in commit order, which need not be seq order
	// (seqs are taken before the ring reserves room).
	Unordered bool

	seen     []uint64 // bitset of seqs seen
	last     map[int]uint64
	perCPU   map[int]uint64
	count    uint64
	firstErr error
}

// Add checks one record and remembers its sequence number. It returns the
// first problem seen so far (and keeps returning it).
func (c *Checker) Add(r transport.Record) error {
	if c.firstErr != nil {
		return c.firstErr
	}
	h, err := producer.ParseHeader(r.Sample)
	if err != nil {
		return c.fail(err)
	}
	if r.CPU >= 0 && uint32(r.CPU) != h.CPU {
		return c.fail(fmt.Errorf("seq %d: record says CPU %d, sample was built on CPU %d", h.Seq, r.CPU, h.CPU))
	}
	word, bit := h.Seq/64, h.Seq%64
	for uint64(len(c.seen)) <= word {
		c.seen = append(c.seen, 0)
	}
	if c.seen[word]&(1<<bit) != 0 {
		return c.fail(fmt.Errorf("seq %d delivered twice", h.Seq))
	}
	c.seen[word] |= 1 << bit
	if c.last == nil {
		c.last = make(map[int]uint64)
		c.perCPU = make(map[int]uint64)
	}
	// Ringbuf records (CPU -1) share one order; perf records are ordered
	// per CPU only.
	if prev, ok := c.last[int(r.CPU)]; ok && h.Seq <= prev && !c.Unordered {
		return c.fail(fmt.Errorf("seq %d after %d on CPU %d: out of order", h.Seq, prev, r.CPU))
	}
	c.last[int(r.CPU)] = h.Seq
	c.perCPU[int(r.CPU)]++
	c.count++
	return nil
}

func (c *Checker) fail(err error) error {
	c.firstErr = err
	return err
}

// Count is the number of distinct records accepted.
func (c *Checker) Count() uint64 { return c.count }

// Err returns the first problem seen.
func (c *Checker) Err() error { return c.firstErr }

// Missing returns how many of the sequence numbers 0..n-1 were not seen, and
// up to 10 of them.
func (c *Checker) Missing(n uint64) (int, []uint64) {
	var missing int
	var some []uint64
	for seq := uint64(0); seq < n; seq++ {
		word, bit := seq/64, seq%64
		if word < uint64(len(c.seen)) && c.seen[word]&(1<<bit) != 0 {
			continue
		}
		missing++
		if len(some) < 10 {
			some = append(some, seq)
		}
	}
	return missing, some
}

// PerCPU returns how many records each CPU delivered (index = CPU); ringbuf
// records (CPU -1) are not counted.
func (c *Checker) PerCPU() map[int]uint64 { return c.perCPU }
