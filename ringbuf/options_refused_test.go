package ringbuf_test

import (
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestBadRingSizes: the kernel refuses a ring buffer map whose size is not a
// power of two and a multiple of the page size (EINVAL), so no consumer can
// be built on one; the error comes from map creation (cilium/ebpf), before
// bpfstream is involved. The reference programs check RingBytes themselves
// (bpf package tests).
func TestBadRingSizes(t *testing.T) {
	privileged.Require(t)
	page := os.Getpagesize()
	for _, size := range []int{0, 1000, page / 2, page + 1, 3 * page} {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(size)})
		if err == nil {
			m.Close()
			t.Fatalf("the kernel accepted a ring buffer of %d bytes", size)
		}
		require.ErrorIs(t, err, unix.EINVAL, "ring of %d bytes", size)
		t.Logf("ring of %d bytes: %v", size, err)
	}
}

// TestBadConfig adds to TestBadInput: options that could never work are a
// clear error at construction, for New and NewMulti alike.
func TestBadConfig(t *testing.T) {
	privileged.Require(t)
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	require.NoError(t, err)
	defer rb.Close()
	hash, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	require.NoError(t, err)
	defer hash.Close()
	closedDrops, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	require.NoError(t, err)
	require.NoError(t, closedDrops.Close())

	for name, opts := range map[string]ringbuf.Options{
		"unknown reader":         {Backend: ringbuf.Backend(42)},
		"negative drain":         {DrainInterval: -time.Nanosecond},
		"closed drop counter":    {DropCounter: closedDrops},
		"drop counter of a hash": {DropCounter: hash},
	} {
		c, err := ringbuf.New(rb, opts)
		if err == nil {
			c.Close()
		}
		require.Error(t, err, name)
		t.Logf("New, %s: %v", name, err)
		c, err = ringbuf.NewMulti([]*ebpf.Map{rb}, opts)
		if err == nil {
			c.Close()
		}
		require.Error(t, err, name)
	}
	_, err = ringbuf.NewMulti([]*ebpf.Map{rb, nil}, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = ringbuf.NewMulti([]*ebpf.Map{rb, hash}, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrMapType)
	_, err = ringbuf.NewMulti([]*ebpf.Map{}, ringbuf.Options{})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
}
