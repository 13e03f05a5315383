//go:build !amd64

package ring

// prefetchRun does nothing here; see prefetch_amd64.go.
func prefetchRun(addr, stride uintptr, n int) {}
