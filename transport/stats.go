package transport

// Stats is a snapshot of a consumer's counters. Every sample a producer
// emitted is either in Records or in Lost.
type Stats struct {
	// Records and Bytes count the samples handed to the handler and their
	// length in bytes (perfbuf lengths include the kernel's padding). A
	// record counts once, also when a native reader hands it over again
	// after its handler panicked. With a re-ordering stage, a record counts
	// when it leaves the stage for the handler. They are brought up to date
	// each time the consumer has handed over what was waiting, so while it
	// is handing records over, and to a stream's receiver, which may hold
	// records before that, they can trail by up to a buffer's worth.
	Records uint64
	Bytes   uint64
	// Lost counts samples the producer emitted that never reached the
	// handler. perfbuf: the kernel's count of samples it could not write
	// because a per-CPU buffer was full (and, for the native reader,
	// samples still unread at Close, which go away with the buffers).
	// ringbuf: the BPF program's own drop counter, when one is configured
	// (the kernel keeps none); without one, ringbuf losses are invisible and
	// LostKnown is false. Both: records a re-ordering stage still held when
	// the consumer was closed.
	Lost uint64
	// LostKnown reports whether Lost covers every way a sample can be lost.
	LostKnown bool
	// LostPerCPU breaks Lost down by CPU for perfbuf (index = CPU, one
	// entry per CPU up to the last online one, whatever the map's size);
	// nil for ringbuf.
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
	// size times CPUs with a buffer (perfbuf; 0 once the consumer is
	// closed, as its buffers are released), or the ring sizes (ringbuf).
	BufferBytes uint64
	// PendingBytes is the data waiting in the ring(s) when [Stats] was taken
	// (ringbuf only).
	PendingBytes uint64
}
