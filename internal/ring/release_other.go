//go:build !amd64

package ring

import "sync/atomic"

// storeRelease publishes a consumer position with (at least) release
// ordering. On other architectures sync/atomic's Store is the release store
// (arm64: STLR) or stronger; see release_amd64.go.
func storeRelease(p *uint64, v uint64) { atomic.StoreUint64(p, v) }

// storeReleasePtr is storeRelease for a uintptr position.
func storeReleasePtr(p *uintptr, v uintptr) { atomic.StoreUintptr(p, v) }
