package ring

import (
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/prefetch"
)

// A reader finds each record from the header of the one before it, so the
// header loads form one chain: when records are a cache line or more apart,
// every header is a cache miss the processor cannot start before the previous
// one has arrived, and the hardware prefetchers, which follow a stream of
// nearby lines and stop at page boundaries, fetch too little too late. Out of
// cache (BenchmarkRingbufOutOfCache), libbpf's loop, which does not prefetch,
// spends 11.6-13 ns per 128- or 532-byte sample waiting for headers.
//
// prefetchAhead guesses where the record prefetchDistance records ahead lies
// (records of one ring tend to have one size) and asks for its header's line,
// or all of its lines when it is small (prefetchWholeMax), while the handler
// runs; a wrong guess costs useless prefetches. Out of cache the readers then
// take 8.0 ns (callback) and 6.4 ns (batch) per 128-byte sample, 10.3 and
// 10.5 ns per 532-byte one; on a prefilled kernel ring of a million samples,
// 1.2-1.8x libbpf's rate instead of 0.9-1.0x without prefetching. A distance
// of 8 records fetched too late, 32 and 64 no better than 16. Records
// shorter than prefetchMinSize share lines and pages with their neighbours,
// where the hardware prefetchers keep up and the prefetch would only add its
// cost.
const (
	prefetchDistance = 16
	prefetchMinSize  = 64
)

// prefetchWholeMax is the largest record prefetched whole, every line of it,
// rather than only its header's line. Out of cache
// (BenchmarkRingbufOutOfCache), whole 136-byte records made the callback
// path 17% and the batch path 32% faster than their headers alone did (the
// hardware then sees one stream of lines, and keeps up with it), and made no
// difference at 200-256 bytes; at 532 bytes, fetching every byte of the ring
// made the batch path 2.5x slower (prefilled, 97-99M -> 37-42M records/s:
// the memory's bandwidth, where the headers alone are one line in nine).
const prefetchWholeMax = prefetch.WholeMax

// prefetchChunk is how many records a batch gathering loop walks between
// prefetches (see prefetchChunkAhead): a loop that calls nothing keeps its
// values in registers, where a prefetch call for some records had it store
// and reload some of them for every record, 24-byte records included. Out
// of cache (BenchmarkRingbufOutOfCache), chunks of 4 read 128-byte samples
// as fast as a prefetch per record did; chunks of 8 and 16 were 7-11%
// slower, and so was a distance of 24 or 32 records.
const prefetchChunk = 4

// prefetchAhead prefetches the record prefetchDistance records of size bytes
// after the one at p.
func prefetchAhead(p unsafe.Pointer, size uintptr) {
	if size >= prefetchMinSize {
		prefetchRecords(uintptr(p)+size*prefetchDistance, size, 1)
	}
}

// prefetchChunkAhead is prefetchAhead for a loop that has walked a chunk of
// prefetchChunk records up to the one at p, of size bytes: it prefetches the
// chunk's worth of records that follow those it prefetched last time,
// prefetchDistance to prefetchDistance+prefetchChunk records after p, so
// that every record is asked for once, between prefetchDistance and
// prefetchDistance+prefetchChunk records before it is read. It reports
// whether records of this size are prefetched.
func prefetchChunkAhead(p unsafe.Pointer, size uintptr) bool {
	if size < prefetchMinSize {
		return false
	}
	prefetchRecords(uintptr(p)+size*prefetchDistance, size, prefetchChunk)
	return true
}

// prefetchRecords prefetches n records of size bytes from addr: every line of
// them when they are at most prefetchWholeMax bytes, the line of each one's
// header otherwise.
func prefetchRecords(addr, size uintptr, n int) {
	if size <= prefetchWholeMax {
		prefetch.Bytes(addr, int(size)*n)
		return
	}
	prefetch.Run(addr, size, n)
}
