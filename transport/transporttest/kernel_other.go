//go:build !((386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux)

package transporttest

import (
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
)

// KernelProducer emits samples from inside the kernel; it needs Linux on a
// little-endian machine.
type KernelProducer struct{}

var errPlatform = fmt.Errorf("transporttest: the kernel producer needs Linux on a little-endian machine: %w", ebpf.ErrNotSupported)

// NewKernelProducer fails with an error matching ebpf.ErrNotSupported here.
func NewKernelProducer(*ebpf.Map, KernelProducerOptions) (*KernelProducer, error) {
	return nil, errPlatform
}

// Run fails.
func (*KernelProducer) Run(cpu, n int) error { return errPlatform }

// Produced fails.
func (*KernelProducer) Produced() (uint64, error) { return 0, errPlatform }

// Dropped fails.
func (*KernelProducer) Dropped() (uint64, error) { return 0, errPlatform }

// Produce fails t.
func (*KernelProducer) Produce(t *testing.T, n int) int { t.Fatal(errPlatform); return 0 }

// Seq reads a sample's sequence number.
func (*KernelProducer) Seq(sample []byte) (uint64, error) {
	h, err := ParseSampleHeader(sample)
	return h.Seq, err
}

// Close does nothing.
func (*KernelProducer) Close() error { return nil }
