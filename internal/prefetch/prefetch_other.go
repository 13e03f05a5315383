//go:build !amd64

package prefetch

// Run does nothing here; see prefetch_amd64.go.
func Run(addr, stride uintptr, n int) {}
