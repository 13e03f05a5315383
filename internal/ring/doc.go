// Package ring holds bpfstream's native readers: zero-copy readers over the
// mmap of BPF ring buffers (Ringbuf, one or several rings behind one epoll)
// and perf event buffers (Perf, one buffer per CPU), written with
// golang.org/x/sys/unix only (no cgo). They implement core.Source.
//
// A record is handed to the consumer in place (its bytes point into the mmap
// and are borrowed until emit returns; only a perf record that wraps around
// the end of its buffer is copied), the consumer position is published once
// per 4 KiB of records rather than once per record, and there is no lock or
// syscall per record.
//
// # A reader's life
//
//	New*: map the buffers, register each with epoll under its index   (ringbuf.go, perf.go)
//	Drain (rbdrain.go, perfdrain.go), until it has handed something over:
//	  round: one slice from each buffer in the visit set               (visit.go)
//	    slice: check the positions and each header, walk the records   (rbheader.go, rbwalk.go, perfwalk.go)
//	           hand them over one by one or gathered in batches        (batch.go, prefetch.go)
//	           publish the consumer position as it goes                (position.go)
//	  nothing handed over: a policy chooses a wait, await performs it  (wait.go, poll.go, coalesce.go)
//	    epoll's report of ready buffers refills the visit set          (poller.go)
//	Close: mark closed; unmap now, or when the running Drain leaves,
//	  or when the last lent batch is released                          (poller.go, claim.go)
//
// # Publishing the consumer position late
//
// The kernel reads the consumer position to know how much space is free, and
// (ringbuf) to answer BPF_RB_AVAIL_DATA queries and decide adaptive wake-ups.
// Publishing it later than the records were read therefore delays freeing
// space and makes BPF_RB_AVAIL_DATA overstate what waits; it can never let
// the producer overwrite a record that has not been handed over, because the
// position only ever advances past records whose emit call has returned. The
// readers publish whenever they have consumed PublishBytes (4 KiB) since the
// last publication, at the end of every slice, when emit returns an error,
// when Drain returns (also by a panic in emit) and always before waiting in
// epoll. One exception: a ring buffer slice that caught up with the producer
// publishes all but the last record, and the reader polls a few more times
// while that pays (poll.go): with the kernel's adaptive wake-ups a commit
// wakes the reader when it starts at the published position, so a reader
// that publishes "caught up" while still awake makes the producer pay a
// wake-up for nothing (see BENCHMARKS.md for what that cost).
//
// # Close racing with Drain
//
// Records are borrowed from the mmap, so the mappings must outlive every
// Drain. Close marks the reader closed and, when no Drain is running,
// releases everything at once; when a Drain is running (blocked in epoll or
// inside emit — even a handler that calls Close itself), Close wakes it
// through an eventfd and the Drain releases the mappings and descriptors as
// it leaves. So Close never waits for a handler and never deadlocks, and
// nothing is unmapped under a running Drain. Such a Drain still publishes
// its ring buffer consumer positions as it leaves; a new Ringbuf on one of
// those rings waits for that before it starts (see claim.go), so a
// consumer closed and re-opened on a ring never hands a record over twice.
package ring
