// Package prefetch asks the processor to bring memory into its caches ahead
// of a loop that will read it, for the readers' walks over kernel buffers and
// the owned batches' copies out of them.
package prefetch

import "unsafe"

// CacheLine is the bytes the processor fetches at a time.
const CacheLine = 64

// WholeMax is the largest record the native readers prefetch whole, every
// line of it, rather than only its header's line: a copy of a larger sample
// out of the buffer finds only its first line in cache, and prefetches the
// rest itself (Lines).
const WholeMax = 256

// Lines prefetches every line of the n bytes at p.
func Lines(p unsafe.Pointer, n int) {
	Run(uintptr(p), CacheLine, (n+CacheLine-1)/CacheLine)
}
