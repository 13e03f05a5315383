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

// prefetchAhead prefetches the line prefetchDistance records of size bytes
// after the one at p.
func prefetchAhead(p unsafe.Pointer, size uintptr) {
	if size >= prefetchMinSize {
		prefetch(uintptr(p) + size*prefetchDistance)
	}
}
