package ring

// storeRelease publishes a consumer position: every read of the records
// before it happens before the store is visible to the producer, which is
// all a reader needs (a release store, as libbpf's smp_store_release).
//
// On amd64 a plain store is one: the processor never makes a store visible
// before earlier loads (TSO), and the compiler keeps a store after the loads
// and calls that precede it. sync/atomic's Store is sequentially consistent,
// an XCHG here: a full fence that waits for every outstanding load, which
// costs a reader of large records much of its rate (see BENCHMARKS.md).
// Where a reader needs the full fence (before it sleeps, see
// Ringbuf.settle), it adds one.
func storeRelease[P uint64 | uintptr](p *P, v P) { *p = v }
