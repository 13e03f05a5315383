package transport

import "context"

// ConsumerTo is an optional interface a [Consumer] implements to hand its
// records to a [Receiver]: a handler with hooks that [Consumer.Consume] and
// [Consumer.ConsumeBatches] have no room for. A receiver can say how many
// records it takes per call ([Receiver.Limit]), be told when the consumer has
// handed over everything that was waiting ([Receiver.Idle]), and keep the
// records of a batch the consumer lends it ([Receiver.Borrow], [Loan]). It
// extends [Consumer] as [io.WriterTo] extends a Reader: code above a consumer
// checks for it with a type assertion and falls back to the base methods.
//
// [Batches] is that code: with a ConsumerTo it sends a partial batch when
// the consumer goes idle, asks for no more records per call than the batch
// being gathered has room for, and keeps lent records instead of copying
// them ([ChannelOptions.Borrow]). With a plain Consumer it calls
// ConsumeBatches and sends what each handler call handed over when the call
// returns: batches are then no larger than the consumer's calls, nothing is
// lent, and a partial batch never waits for the next record either way. A
// Consumer therefore does not need to implement ConsumerTo to work with
// every API of this package; perfbuf.Consumer and ringbuf.Consumer implement
// it to make batches cheaper.
type ConsumerTo interface {
	Consumer
	// ConsumeTo is Consume or ConsumeBatches, as r says ([Receiver.Record]
	// or [Receiver.Batch]), with r's hooks: everything [Consumer] documents
	// for those (ordering, borrowed samples, cancellation, Close,
	// [ErrBusy], error wrapping) holds. A [Receiver] with neither or both of
	// Record and Batch set is [ErrInvalidOptions]. An error from
	// [Receiver.Idle] ends ConsumeTo as a handler error does.
	ConsumeTo(ctx context.Context, r Receiver) error
}

// Receiver is what [ConsumerTo.ConsumeTo] hands records to, on the consuming
// goroutine. Set exactly one of Record and Batch; the other fields are
// optional.
type Receiver struct {
	// Record receives records one at a time, as a [Handler].
	Record Handler
	// Batch receives records a batch at a time, as a [BatchHandler] does,
	// with at most Limit records per call. loan is nil unless Borrow is
	// set and the consumer lends this batch: see [Loan].
	Batch func(recs []Record, loan Loan) error
	// Idle, when not nil, is called each time the consumer has handed
	// over every record that was waiting, before it waits for more. A
	// consumer may call it more often (perfbuf and ringbuf also call it
	// on each drain of their DrainInterval timer). [Batches] sends its
	// partial batch from it.
	Idle func() error
	// Limit, when not nil, returns the most records the next Batch call may
	// carry (values below 1 mean the consumer's default). The receiver may
	// change it from its Batch and Idle calls: a consumer reads it at the
	// start and after each of those calls.
	Limit func() int
	// Borrow asks the consumer to lend its batches: pass each Batch call
	// a [Loan] when it can, so that the receiver may keep the records
	// without copying them. A consumer that lends may make its calls
	// longer, since the records a receiver keeps are held in the
	// consumer's buffer anyway.
	Borrow bool
}

// Loan is offered with a batch whose records a consumer lends to the
// receiver ([Receiver.Borrow]): the records and their samples point into the
// consumer's buffer, which does not reuse their space until the receiver
// releases them.
type Loan interface {
	// Keep keeps the batch's records, and their samples, valid after the
	// Batch call returns, until Release is called on the returned
	// [Lease]. Call it at most once, during the Batch call. With a
	// non-nil spare, the receiver also takes the recs slice itself (it may
	// keep and modify it) and gives spare, an empty slice with room for
	// the next batch, to the consumer to gather its next batches in.
	Keep(spare []Record) Lease
}

// Lease holds the records of a kept [Loan] in the consumer's buffer.
type Lease interface {
	// Release lets the consumer reuse the records' space. It is
	// idempotent, safe from any goroutine, and safe after the consumer is
	// closed. A buffer that frees its space in order (a ring) frees a
	// batch's space once every older lease of it is released too.
	Release()
}
