package ring

// prefetch asks the processor to bring the cache line at addr into its
// caches, without waiting for it. It never faults: an address that is not
// mapped is ignored, which is why it takes a uintptr and may be given a guess.
//
//go:noescape
func prefetch(addr uintptr)

// prefetchRun prefetches the lines at addr, addr+stride, ..., n of them, as
// prefetch does each.
//
//go:noescape
func prefetchRun(addr, stride uintptr, n int)
