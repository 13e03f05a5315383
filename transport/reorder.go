package transport

import "time"

// Reorder configures the optional re-ordering stage of a consumer that reads
// several streams (perfbuf: one per CPU; ringbuf: several rings). Each
// stream's records are already in order; the stage merges them by the
// timestamp that [Timestamp] reads from each sample, holding a record until it
// is provably the oldest (every stream has a newer record waiting) or has
// waited Window.
//
// The stage adds at most about Window of latency: the trade-off is that a
// larger window orders more records correctly when streams are read in
// bursts. A record that arrives after a newer one has left cannot be placed:
// it is delivered at once and counted in [Stats.Late]. Records that pass through
// the stage own their bytes.
//
// Records the stage holds when Consume ends are settled so that [Stats.Records]
// is exactly what the handler received: when Consume ends because its context
// is done, Close was called or the read failed, it hands them to the handler,
// oldest first, before it returns (records arriving later from other streams
// may then be late); when it ends with an error from the handler, the handler
// is not called again and they stay held for the next Consume; when the
// handler panics, its record stays held and the next Consume hands it over
// again (it is counted once). Records still held when the consumer is closed
// are counted in [Stats.Lost] (and LostPerCPU).
type Reorder struct {
	// Timestamp reads a record's timestamp (for example a bpf_ktime_get_ns
	// value the program wrote at a fixed offset). Required.
	Timestamp Timestamp
	// Window is the longest a record is held waiting for older records from
	// other streams. Zero releases records at once (and only counts the late
	// ones); negative is an error.
	Window time.Duration
}

// Timestamp reads a record's timestamp from its sample; ok is false when the
// sample has none (too short), and the record is then delivered at once.
type Timestamp func(sample []byte) (ts uint64, ok bool)
