package ring

import "unsafe"

// A reader finds each record from the header of the one before it, so the
// header loads form one chain: when records are a cache line or more apart,
// every header is a cache miss the processor cannot start before the previous
// one has arrived, and the hardware prefetchers, which follow a stream of
// nearby lines and stop at page boundaries, fetch too little too late. Out of
// cache (BenchmarkRingbufOutOfCache), libbpf's loop, which does not prefetch,
// spends 11.6-13 ns per 128- or 532-byte sample waiting for headers.
//
// prefetchAhead guesses where the header prefetchDistance records ahead lies
// (records of one ring tend to have one size) and asks for its line while the
// handler runs; a wrong guess costs one useless prefetch. The readers then
// take 9-10.6 ns per record (callback) and 8.5-9.6 ns (batch); on a
// prefilled kernel ring of a million samples, 1.2-1.8x libbpf's rate instead
// of 0.9-1.0x. A distance of 8 records fetched too late, 32 and 64 no better
// than 16. Records shorter than prefetchMinSize share lines and pages with
// their neighbours, where the hardware prefetchers keep up and the prefetch
// would only add its cost.
const (
	prefetchDistance = 16
	prefetchMinSize  = 64
)

// prefetchChunk is how many records a batch gathering loop walks between
// prefetches (see prefetchChunkAhead): a loop that calls nothing keeps its
// values in registers, where a prefetch call for some records had it store
// and reload some of them for every record, 24-byte records included. Out
// of cache (BenchmarkRingbufOutOfCache), chunks of 4 read 128-byte samples
// as fast as a prefetch per record did; chunks of 8 and 16 were 7-11%
// slower, and so was a distance of 24 or 32 records.
const prefetchChunk = 4

// prefetchAhead prefetches the line prefetchDistance records of size bytes
// after the one at p.
func prefetchAhead(p unsafe.Pointer, size uintptr) {
	if size >= prefetchMinSize {
		prefetch(uintptr(p) + size*prefetchDistance)
	}
}

// prefetchChunkAhead is prefetchAhead for a loop that has walked a chunk of
// prefetchChunk records up to the one at p, of size bytes: it prefetches the
// lines of the chunk's worth of headers that follow those it prefetched
// last time, prefetchDistance to prefetchDistance+prefetchChunk records
// after p, so that every record's header is asked for once, between
// prefetchDistance and prefetchDistance+prefetchChunk records before it is
// read. It reports whether records of this size are prefetched.
func prefetchChunkAhead(p unsafe.Pointer, size uintptr) bool {
	if size < prefetchMinSize {
		return false
	}
	prefetchRun(uintptr(p)+size*prefetchDistance, size, prefetchChunk)
	return true
}
