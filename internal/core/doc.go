// Package core is the runtime every transport shares: the consume loop (the
// Consumer contract's lifecycle, cancellation, counting and error wrapping),
// the live counters behind Stats, and map and permission checks. perfbuf,
// ringbuf and transporttest.Fake plug their record sources into it, so the
// contract's semantics are written once.
package core
