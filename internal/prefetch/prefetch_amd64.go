package prefetch

// Run asks the processor to bring the cache lines at addr, addr+stride, ...,
// n of them, into its caches, without waiting for them. It never faults: an
// address that is not mapped is ignored, which is why it takes a uintptr and
// may be given a guess.
//
//go:noescape
func Run(addr, stride uintptr, n int)
