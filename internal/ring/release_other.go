//go:build !amd64

package ring

import (
	"sync/atomic"
	"unsafe"
)

// storeRelease publishes a consumer position with (at least) release
// ordering. On other architectures sync/atomic's Store is the release store
// (arm64: STLR) or stronger; see release_amd64.go.
func storeRelease[P uint64 | uintptr](p *P, v P) {
	if unsafe.Sizeof(v) == 8 {
		atomic.StoreUint64((*uint64)(unsafe.Pointer(p)), uint64(v))
		return
	}
	atomic.StoreUintptr((*uintptr)(unsafe.Pointer(p)), uintptr(v))
}
