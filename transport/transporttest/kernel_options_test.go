//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package transporttest_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// speaksToTheCaller fails t unless err's text names no internal package and
// ends with sentinel, once.
func speaksToTheCaller(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%v: want an error matching %v", err, sentinel)
		return
	}
	msg := err.Error()
	if rest := strings.ReplaceAll(msg, "kernel producer: ", ""); strings.Contains(rest, "producer: ") || strings.Contains(msg, "internal") {
		t.Errorf("%q names an internal package", msg)
	}
	if strings.Count(msg, sentinel.Error()) != 1 || !strings.HasSuffix(msg, ": "+sentinel.Error()) {
		t.Errorf("%q: want %q once, at the end", msg, sentinel)
	}
}

// TestKernelProducerChecksOptionsAtConstruction: a CPU that is not online is
// refused by NewKernelProducer (before, CPU 99 was accepted and Run failed),
// and every option error names the option, in the caller's terms.
func TestKernelProducerChecksOptionsAtConstruction(t *testing.T) {
	privileged.Require(t)
	rb := newMap(t, &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	pb := newMap(t, &ebpf.MapSpec{Type: ebpf.PerfEventArray})
	for _, tc := range []struct {
		m    *ebpf.Map
		opts transporttest.KernelProducerOptions
		says string
	}{
		{rb, transporttest.KernelProducerOptions{CPU: 99}, "KernelProducerOptions.CPU is 99, want an online CPU"},
		{pb, transporttest.KernelProducerOptions{CPU: -1}, "KernelProducerOptions.CPU is -1"},
		{rb, transporttest.KernelProducerOptions{SampleSize: 8}, "KernelProducerOptions.SampleSize is 8"},
		{rb, transporttest.KernelProducerOptions{SampleSize: 32, VarSampleSize: 31}, "KernelProducerOptions.VarSampleSize is 31"},
		{rb, transporttest.KernelProducerOptions{Reserve: true, VarSampleSize: 64}, "KernelProducerOptions.Reserve"},
		{rb, transporttest.KernelProducerOptions{DropCounter: rb}, "KernelProducerOptions.DropCounter is a RingBuf"},
		{rb, transporttest.KernelProducerOptions{WakeupBytes: 8}, "KernelProducerOptions.Wakeup"},
	} {
		p, err := transporttest.NewKernelProducer(tc.m, tc.opts)
		if err == nil {
			p.Close()
			t.Errorf("%+v accepted", tc.opts)
			continue
		}
		speaksToTheCaller(t, err, transport.ErrInvalidOptions)
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q does not say %q", err, tc.says)
		}
	}

	p, err := transporttest.NewKernelProducer(rb, transporttest.KernelProducerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	speaksToTheCaller(t, p.Run(99, 1), transport.ErrInvalidOptions)
	speaksToTheCaller(t, p.Run(0, -1), transport.ErrInvalidOptions)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	err = p.Run(0, 1)
	if !errors.Is(err, os.ErrClosed) || strings.Contains(strings.ReplaceAll(err.Error(), "kernel producer: ", ""), "producer: ") {
		t.Errorf("Run after Close: %v, want os.ErrClosed without internal names", err)
	}
	t.Log(err)
}
