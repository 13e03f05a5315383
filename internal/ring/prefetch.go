package ring

import (
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/prefetch"
)

// A reader finds each record from the header of the one before it, so the
// header loads form one chain: when records are a cache line or more apart,
// every header is a cache miss the processor cannot start before the previous
// one has arrived, and the hardware prefetchers, which follow a stream of
// nearby lines and stop at page boundaries, fetch too little too late.
//
// prefetchAhead guesses where the record prefetchDistance records ahead lies
// (records of one ring tend to have one size) and asks for its header's line,
// or all of its lines when it is small (prefetchWholeMax), while the handler
// runs; a wrong guess costs useless prefetches. Records shorter than
// prefetchMinSize share lines and pages with their neighbours, where the
// hardware prefetchers keep up and the prefetch would only add its cost. The
// distances and sizes below are measured choices: see "Prefetching in the
// readers" in BENCHMARKS.md.
const (
	prefetchDistance = 16
	prefetchMinSize  = 64
)

// prefetchWholeMax is the largest record prefetched whole, every line of it,
// rather than only its header's line: small records are fetched as one stream
// of lines the hardware keeps up with, and large ones by their header alone,
// where fetching every byte would spend the memory's bandwidth.
const prefetchWholeMax = prefetch.WholeMax

// prefetchChunk is how many records a batch gathering loop walks between
// prefetches (see prefetchChunkAhead): a loop that calls nothing keeps its
// values in registers, where a prefetch call for some records had it store
// and reload some of them for every record.
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
