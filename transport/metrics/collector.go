package metrics

import (
	"fmt"
	"reflect"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bpfstream/bpfstream/transport"
)

// Label names.
const (
	// LabelConsumer is the name a consumer was added under.
	LabelConsumer = "consumer"
	// LabelTransport is the consumer's Kind: perfbuf, ringbuf or fake.
	LabelTransport = "transport"
	// LabelCPU is the CPU of bpfstream_cpu_lost_total.
	LabelCPU = "cpu"
)

func newDesc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append([]string{LabelConsumer, LabelTransport}, extra...), nil)
}

// The descriptions of every metric; the package doc says what each means.
var (
	descRecords      = newDesc("bpfstream_records_total", "Records handed to the handler.")
	descBytes        = newDesc("bpfstream_bytes_total", "Bytes of the records handed to the handler (perfbuf: with the kernel's padding).")
	descLost         = newDesc("bpfstream_lost_total", "Samples emitted that never reached user space.")
	descCPULost      = newDesc("bpfstream_cpu_lost_total", "Samples lost, by CPU (perfbuf).", LabelCPU)
	descLostKnown    = newDesc("bpfstream_lost_known", "1 when bpfstream_lost_total counts every loss, 0 when losses are invisible (ringbuf without a drop counter).")
	descDecodeErrors = newDesc("bpfstream_decode_errors_total", "Records that arrived but failed to decode.")
	descLate         = newDesc("bpfstream_late_total", "Records a re-ordering stage could not place in timestamp order.")
	descWakeups      = newDesc("bpfstream_wakeups_total", "Times the consumer woke up and found data to drain.")
	descPending      = newDesc("bpfstream_pending_bytes", "Bytes waiting in the ring buffer(s) (ringbuf).")
	descBuffer       = newDesc("bpfstream_buffer_bytes", "Kernel buffer memory the consumer holds.")
)

var allDescs = []*prometheus.Desc{
	descRecords, descBytes, descLost, descCPULost, descLostKnown,
	descDecodeErrors, descLate, descWakeups, descPending, descBuffer,
}

// Collector is a prometheus.Collector over consumers, each added under a
// name. It reads their Stats when it is collected (scraped), and holds no
// state per record. Its methods are safe for concurrent use.
//
// The zero Collector is not usable: call [NewCollector].
type Collector struct {
	mu      sync.Mutex
	sources []source // in the order added
}

type source struct {
	name     string
	consumer transport.Consumer
	stats    func(transport.Consumer) transport.Stats
	seen     *highWater
}

// highWater keeps the largest value of each counter a source has reported,
// so that its counters never decrease while it is added: a ringbuf
// consumer's loss count, read from a map its owner may close, or a WithStats
// function, may report less than before.
type highWater struct {
	mu sync.Mutex
	st transport.Stats
}

// raise returns st with every counter at least the largest value seen.
func (h *highWater) raise(st transport.Stats) transport.Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	up := func(seen *uint64, v *uint64) {
		*seen = max(*seen, *v)
		*v = *seen
	}
	up(&h.st.Records, &st.Records)
	up(&h.st.Bytes, &st.Bytes)
	up(&h.st.Lost, &st.Lost)
	up(&h.st.DecodeErrors, &st.DecodeErrors)
	up(&h.st.Late, &st.Late)
	up(&h.st.Wakeups, &st.Wakeups)
	if len(st.LostPerCPU) < len(h.st.LostPerCPU) {
		st.LostPerCPU = append(st.LostPerCPU, make([]uint64, len(h.st.LostPerCPU)-len(st.LostPerCPU))...)
	}
	h.st.LostPerCPU = append(h.st.LostPerCPU, make([]uint64, len(st.LostPerCPU)-len(h.st.LostPerCPU))...)
	for i := range st.LostPerCPU {
		up(&h.st.LostPerCPU[i], &st.LostPerCPU[i])
	}
	return st
}

// NewCollector returns a [Collector] without consumers.
func NewCollector() *Collector { return &Collector{} }

// Option changes how Add reads a consumer.
type Option func(*source)

// WithStats makes the [Collector] read the consumer's counters through f
// instead of Consumer.Stats. Its purpose is event.Decoder.Stats, which adds
// the decoder's failures to Stats.DecodeErrors:
//
//	col.Add("exec", c, metrics.WithStats(dec.Stats))
//
// f is called at every scrape, on the scraping goroutine, with the consumer
// given to Add.
func WithStats(f func(transport.Consumer) transport.Stats) Option {
	return func(s *source) { s.stats = f }
}

// Add exports c's counters under name (the consumer label). An empty name, a
// name already added, a consumer already added (under any name: its counts
// would be summed twice), a nil consumer or a nil [WithStats] function is an
// error matching [transport.ErrInvalidOptions].
//
// The counters exported for name never decrease while it is added, even when
// the consumer reports less than before (a ringbuf consumer whose drop
// counter became unreadable): the Collector exports the largest value seen.
func (col *Collector) Add(name string, c transport.Consumer, opts ...Option) error {
	if name == "" {
		return fmt.Errorf("metrics: add consumer: the name is empty; give each consumer a name: %w", transport.ErrInvalidOptions)
	}
	if c == nil {
		return fmt.Errorf("metrics: add consumer %q: the consumer is nil: %w", name, transport.ErrInvalidOptions)
	}
	s := source{name: name, consumer: c, stats: transport.Consumer.Stats, seen: &highWater{}}
	for _, o := range opts {
		o(&s)
	}
	if s.stats == nil {
		return fmt.Errorf("metrics: add consumer %q: the WithStats function is nil: %w", name, transport.ErrInvalidOptions)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, have := range col.sources {
		if have.name == name {
			return fmt.Errorf("metrics: add consumer %q: the name is already added; remove it first or choose another: %w", name, transport.ErrInvalidOptions)
		}
		if sameConsumer(have.consumer, c) {
			return fmt.Errorf("metrics: add consumer %q: the consumer is already added as %q, and would be counted twice: %w", name, have.name, transport.ErrInvalidOptions)
		}
	}
	col.sources = append(col.sources, s)
	return nil
}

// Remove stops exporting the consumer added under name, and reports whether
// there was one. Its series disappear from the next scrape.
func (col *Collector) Remove(name string) bool {
	col.mu.Lock()
	defer col.mu.Unlock()
	for i, s := range col.sources {
		if s.name == name {
			col.sources = append(col.sources[:i], col.sources[i+1:]...)
			return true
		}
	}
	return false
}

// Describe implements prometheus.Collector: it sends the description of
// every metric the [Collector] can export.
func (col *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it takes a Stats snapshot of each
// consumer and sends its metrics.
func (col *Collector) Collect(ch chan<- prometheus.Metric) {
	col.mu.Lock()
	sources := append([]source(nil), col.sources...)
	col.mu.Unlock()
	// Stats runs outside the lock: a ringbuf drop counter costs a syscall,
	// and Add or Remove need not wait for it.
	for _, s := range sources {
		collect(ch, s.name, s.consumer.Kind().String(), s.seen.raise(s.stats(s.consumer)))
	}
}

func collect(ch chan<- prometheus.Metric, name, kind string, st transport.Stats) {
	counter := func(d *prometheus.Desc, v uint64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), append([]string{name, kind}, extra...)...)
	}
	gauge := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), name, kind)
	}
	counter(descRecords, st.Records)
	counter(descBytes, st.Bytes)
	counter(descLost, st.Lost)
	for cpu, n := range st.LostPerCPU {
		counter(descCPULost, n, strconv.Itoa(cpu))
	}
	known := uint64(0)
	if st.LostKnown {
		known = 1
	}
	gauge(descLostKnown, known)
	counter(descDecodeErrors, st.DecodeErrors)
	counter(descLate, st.Late)
	counter(descWakeups, st.Wakeups)
	gauge(descPending, st.PendingBytes)
	gauge(descBuffer, st.BufferBytes)
}

// sameConsumer reports whether a and b are the same consumer. Consumers
// whose dynamic type cannot be compared are never the same.
func sameConsumer(a, b transport.Consumer) bool {
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}
