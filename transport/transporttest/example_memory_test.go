package transporttest_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// memory is a transport.Consumer written from the transport package's
// documentation alone: records pushed from Go wait in a queue until Consume
// hands them over. It implements only the base interface (not
// transport.ConsumerTo), and passes the conformance suite in full.
type memory struct {
	mu      sync.Mutex
	queue   [][]byte
	handing bool // the first queued record is in a handler
	batch   []transport.Record

	wake   chan struct{} // a record was pushed (one pending signal is enough)
	done   chan struct{} // closed by Close
	close  sync.Once
	busy   atomic.Bool
	closed atomic.Bool

	records, bytes, lost, wakeups atomic.Uint64
}

func newMemory() *memory {
	return &memory{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push queues a record; after Close it counts it as lost.
func (m *memory) Push(sample []byte) {
	m.mu.Lock()
	if m.closed.Load() {
		m.lost.Add(1)
	} else {
		m.queue = append(m.queue, sample)
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *memory) Consume(ctx context.Context, h transport.Handler) error {
	if h == nil {
		return fmt.Errorf("memory: consume: nil handler: %w", transport.ErrInvalidOptions)
	}
	return m.consume(ctx, 1, func(recs []transport.Record) error { return h(recs[0]) })
}

func (m *memory) ConsumeBatches(ctx context.Context, h transport.BatchHandler) error {
	if h == nil {
		return fmt.Errorf("memory: consume: nil handler: %w", transport.ErrInvalidOptions)
	}
	return m.consume(ctx, 64, h)
}

// consume hands over up to max queued records per call of h. A record leaves
// the queue once its handler has returned, so that a record whose handler
// panicked is handed over first by the next Consume.
func (m *memory) consume(ctx context.Context, max int, h transport.BatchHandler) error {
	if ctx == nil {
		return fmt.Errorf("memory: consume: nil context: %w", transport.ErrInvalidOptions)
	}
	if !m.busy.CompareAndSwap(false, true) {
		return fmt.Errorf("memory: consume: %w", transport.ErrBusy)
	}
	defer m.busy.Store(false)
	defer func() { // also when h panics
		m.mu.Lock()
		m.handing = false
		m.mu.Unlock()
	}()
	for waited := true; ; {
		if m.closed.Load() {
			return fmt.Errorf("memory: consume: %w", transport.ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			if cause := context.Cause(ctx); cause != err {
				err = fmt.Errorf("%w: %w", err, cause)
			}
			return fmt.Errorf("memory: consume: %w", err)
		}
		m.mu.Lock()
		n := min(len(m.queue), max)
		m.batch = m.batch[:0]
		var nbytes int
		for _, s := range m.queue[:n] {
			m.batch = append(m.batch, transport.Record{Sample: s})
			nbytes += len(s)
		}
		m.handing = n > 0
		m.mu.Unlock()
		if n == 0 {
			waited = true
			select {
			case <-m.wake:
			case <-m.done:
			case <-ctx.Done():
			}
			continue
		}
		if waited { // woken, and found records
			m.wakeups.Add(1)
			waited = false
		}
		err := h(m.batch)
		m.mu.Lock()
		m.queue = m.queue[n:]
		m.handing = false
		m.mu.Unlock()
		m.records.Add(uint64(n))
		m.bytes.Add(uint64(nbytes))
		if err != nil {
			return fmt.Errorf("memory: handler: %w", err)
		}
	}
}

func (m *memory) Stats() transport.Stats {
	return transport.Stats{Records: m.records.Load(), Bytes: m.bytes.Load(), Lost: m.lost.Load(), LostKnown: true, Wakeups: m.wakeups.Load()}
}

func (m *memory) Kind() transport.Kind { return transport.KindFake }

func (m *memory) Done() <-chan struct{} { return m.done }

// Close counts the records still queued as lost, except those a handler is
// being given: they count as delivered once it returns.
func (m *memory) Close() error {
	m.close.Do(func() {
		m.mu.Lock()
		m.closed.Store(true)
		keep := 0
		if m.handing {
			keep = len(m.batch)
		}
		m.lost.Add(uint64(len(m.queue) - keep))
		m.queue = m.queue[:keep]
		m.mu.Unlock()
		close(m.done)
	})
	return nil
}

// memoryProducer pushes numbered samples into a memory consumer.
type memoryProducer struct {
	m   *memory
	seq uint64
}

func (p *memoryProducer) Produce(t *testing.T, n int) int {
	for range n {
		p.m.Push(binary.LittleEndian.AppendUint64(nil, p.seq))
		p.seq++
	}
	return n
}

func (p *memoryProducer) Seq(sample []byte) (uint64, error) {
	if len(sample) != 8 {
		return 0, errors.New("memory: sample is not 8 bytes")
	}
	return binary.LittleEndian.Uint64(sample), nil
}

// A consumer of your own, written against the transport package's
// documentation, works with every API built on transport.Consumer: here the
// batched channel API, which sends the partial batch of 3 records without
// waiting for more. TestMemoryConformance runs the conformance suite on it.
func Example_memoryConsumer() {
	m := newMemory()
	for i := range 3 {
		m.Push([]byte(fmt.Sprint("record ", i)))
	}
	s := transport.Batches(context.Background(), m, transport.ChannelOptions{BatchSize: 256})
	b := <-s.C
	for _, r := range b.Records {
		fmt.Println(string(r.Sample))
	}
	b.Release()
	_ = m.Close()
	for range s.C {
	}
	fmt.Println("stopped by Close:", errors.Is(s.Err(), transport.ErrClosed))
	// Output:
	// record 0
	// record 1
	// record 2
	// stopped by Close: true
}

// The in-memory consumer of the example passes the conformance suite.
func TestMemoryConformance(t *testing.T) {
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T) (transport.Consumer, transporttest.Producer) {
			m := newMemory()
			return m, &memoryProducer{m: m}
		},
		Kind: transport.KindFake,
	})
}
