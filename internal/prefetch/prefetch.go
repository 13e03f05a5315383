// Package prefetch asks the processor to bring memory into its caches ahead
// of a loop that will read it, for the readers' walks over kernel buffers and
// the owned batches' copies out of them.
package prefetch

// CacheLine is the bytes the processor fetches at a time.
const CacheLine = 64

// WholeMax is the largest record the native readers prefetch whole, every
// line of it, rather than only its header's line: a copy of a larger sample
// out of the buffer finds only its first line in cache, and prefetches the
// rest itself (Bytes).
const WholeMax = 256

// Bytes prefetches every line of the n bytes at addr, which, as for Run,
// may be a guess.
func Bytes(addr uintptr, n int) {
	Run(addr, CacheLine, (n+CacheLine-1)/CacheLine)
}
