package transporttest

import (
	"errors"
	"fmt"

	"github.com/bpfstream/bpfstream/transport"
)

// The problems a Checker reports; its errors match one or more of them
// (errors.Is).
var (
	// ErrDuplicate: a sequence number was delivered more than once.
	ErrDuplicate = errors.New("transporttest: sample delivered twice")
	// ErrOutOfOrder: a sample arrived after a later one of the same CPU.
	ErrOutOfOrder = errors.New("transporttest: samples of one CPU out of order")
	// ErrMissing: delivered plus lost samples do not add up to the
	// samples produced.
	ErrMissing = errors.New("transporttest: samples neither delivered nor lost")
	// ErrMalformed: a record that is not a sample of the producer (too
	// short, a sequence number not produced, or a record's CPU that is not
	// the CPU that emitted it).
	ErrMalformed = errors.New("transporttest: malformed sample")
)

// maxExamples bounds the sequence numbers an error lists.
const maxExamples = 10

// Checker checks the records a consumer delivered from one [KernelProducer]:
// each sequence number at most once, every sample of one CPU in the order
// that CPU emitted it, and (Check) every sample produced either delivered or
// counted lost. Give it every record with Add, then call Check with the
// producer's Produced and the consumer's Stats.Lost.
//
// The order holds per emitting CPU on both transports: a perf buffer keeps a
// CPU's samples in order, and a ring buffer keeps the commit order, which for
// the samples of one CPU is their order. A record with a CPU (perfbuf) must
// come from the CPU that emitted it.
//
// The zero Checker is ready to use. It is not safe for concurrent use: call
// Add from the handler (it does not keep the record's bytes).
type Checker struct {
	seen  []uint64          // bitset of sequence numbers
	last  map[uint32]uint64 // last sequence number per emitting CPU
	count uint64
	max   uint64 // highest sequence number seen, plus one

	dups, order, malformed problems
}

// problems counts one kind of problem and keeps the first examples.
type problems struct {
	n    uint64
	some []string
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.some) < maxExamples {
		p.some = append(p.some, fmt.Sprintf(format, args...))
	}
}

func (p *problems) err(kind error) error {
	if p.n == 0 {
		return nil
	}
	return fmt.Errorf("%d times, e.g. %v: %w", p.n, p.some, kind)
}

// Add checks one record and returns its problem (a duplicate, an order
// violation or a malformed record), or nil. Problems are also kept for Err
// and Check, so a handler may ignore the result.
func (c *Checker) Add(rec transport.Record) error {
	h, err := ParseSampleHeader(rec.Sample)
	if err != nil {
		c.malformed.add("%d-byte record", len(rec.Sample))
		return err
	}
	if rec.CPU >= 0 && uint32(rec.CPU) != h.CPU {
		c.malformed.add("seq %d from CPU %d, delivered as CPU %d", h.Seq, h.CPU, rec.CPU)
		return fmt.Errorf("seq %d emitted on CPU %d, delivered as CPU %d: %w", h.Seq, h.CPU, rec.CPU, ErrMalformed)
	}
	if h.Seq >= 1<<40 { // a bitset that large would be a memory problem, not a test
		c.malformed.add("seq %d", h.Seq)
		return fmt.Errorf("seq %d is no producer's: %w", h.Seq, ErrMalformed)
	}
	word, bit := h.Seq/64, h.Seq%64
	for uint64(len(c.seen)) <= word {
		c.seen = append(c.seen, 0)
	}
	if c.seen[word]&(1<<bit) != 0 {
		c.dups.add("seq %d", h.Seq)
		return fmt.Errorf("seq %d: %w", h.Seq, ErrDuplicate)
	}
	c.seen[word] |= 1 << bit
	c.count++
	c.max = max(c.max, h.Seq+1)
	if c.last == nil {
		c.last = make(map[uint32]uint64)
	}
	prev, ok := c.last[h.CPU]
	c.last[h.CPU] = h.Seq
	if ok && h.Seq < prev {
		c.order.add("seq %d after %d on CPU %d", h.Seq, prev, h.CPU)
		return fmt.Errorf("seq %d after %d on CPU %d: %w", h.Seq, prev, h.CPU, ErrOutOfOrder)
	}
	return nil
}

// Count returns how many distinct samples were added.
func (c *Checker) Count() uint64 { return c.count }

// Err returns the problems Add has seen so far, joined, or nil.
func (c *Checker) Err() error {
	return errors.Join(c.malformed.err(ErrMalformed), c.dups.err(ErrDuplicate), c.order.err(ErrOutOfOrder))
}

// Missing returns how many of the sequence numbers 0 to produced-1 were not
// added, and the first of them (up to 10).
func (c *Checker) Missing(produced uint64) (n uint64, some []uint64) {
	for seq := uint64(0); seq < produced; seq++ {
		word, bit := seq/64, seq%64
		if word < uint64(len(c.seen)) && c.seen[word]&(1<<bit) != 0 {
			continue
		}
		n++
		if len(some) < maxExamples {
			some = append(some, seq)
		}
	}
	return n, some
}

// Check returns Err together with the accounting problems, given how many
// samples the producer emitted ([KernelProducer.Produced]) and how many the
// consumer counted lost (Stats.Lost): a sequence number beyond produced
// ([ErrMalformed]), or missing samples that lost does not account for, or
// fewer missing than lost ([ErrMissing]). Call it once every record that will
// arrive has been added.
func (c *Checker) Check(produced, lost uint64) error {
	errs := []error{c.Err()}
	if c.max > produced {
		errs = append(errs, fmt.Errorf("seq %d delivered, but only %d produced: %w", c.max-1, produced, ErrMalformed))
	}
	missing, some := c.Missing(produced)
	if missing != lost {
		errs = append(errs, fmt.Errorf("%d produced, %d delivered, %d counted lost, but %d missing (e.g. %v): %w",
			produced, c.count, lost, missing, some, ErrMissing))
	}
	return errors.Join(errs...)
}
