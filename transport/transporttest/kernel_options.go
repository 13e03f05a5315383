//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package transporttest

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// check validates every field of o for a producer into m, so that the
// errors name the options the caller set.
func (o KernelProducerOptions) check(m *ebpf.Map) error {
	bad := func(field string, value any, want string) error {
		return core.BadOption("transporttest: kernel producer", "KernelProducerOptions."+field, value, want)
	}
	if o.SampleSize != 0 && (o.SampleSize < SampleHeaderSize || o.SampleSize > MaxSampleSize) {
		return bad("SampleSize", o.SampleSize, fmt.Sprintf("0 (SampleHeaderSize) or %d to %d", SampleHeaderSize, MaxSampleSize))
	}
	size := max(o.SampleSize, SampleHeaderSize)
	if o.VarSampleSize != 0 && (o.VarSampleSize < size || o.VarSampleSize > MaxSampleSize) {
		return bad("VarSampleSize", o.VarSampleSize, fmt.Sprintf("0 (fixed-size samples) or %d to %d", size, MaxSampleSize))
	}
	if err := checkCPU("KernelProducerOptions.CPU", o.CPU); err != nil {
		return err
	}
	if d := o.DropCounter; d != nil {
		if d.FD() < 0 {
			return core.CheckMap("transporttest: kernel producer: KernelProducerOptions.DropCounter", d)
		}
		if d.Type() != ebpf.PerCPUArray || d.KeySize() != 4 || d.ValueSize() != 8 {
			return fmt.Errorf("transporttest: kernel producer: KernelProducerOptions.DropCounter is a %v of %d-byte keys and %d-byte values, want a PerCPUArray of u32 -> u64: %w",
				d.Type(), d.KeySize(), d.ValueSize(), transport.ErrInvalidOptions)
		}
	}
	switch m.Type() {
	case ebpf.RingBuf:
		if o.Reserve && o.VarSampleSize != 0 {
			return fmt.Errorf("transporttest: kernel producer: KernelProducerOptions.Reserve writes fixed-size samples (bpf_ringbuf_reserve takes a constant size); leave VarSampleSize (%d) at 0: %w",
				o.VarSampleSize, transport.ErrInvalidOptions)
		}
		if err := o.Wakeup.Validate(o.WakeupBytes); err != nil {
			return fmt.Errorf("transporttest: kernel producer: KernelProducerOptions.Wakeup: %w", err)
		}
	default:
		if o.Reserve || o.Wakeup != ringbuf.WakeupAdaptive || o.WakeupBytes != 0 {
			return fmt.Errorf("transporttest: kernel producer: KernelProducerOptions.Reserve and Wakeup are for ring buffers, not a perf event array (set its wake-ups on the reader): %w", transport.ErrInvalidOptions)
		}
	}
	return nil
}

// checkCPU refuses a CPU that is not online: the kernel runs the program
// only on one.
func checkCPU(what string, cpu int) error {
	online := core.ReadOnline()
	found := false
	core.EachOnline(online, cpu+1, func(c int) { found = found || c == cpu })
	if cpu >= 0 && (found || online == "") {
		return nil
	}
	return core.BadOption("transporttest: kernel producer", what, cpu, "an online CPU ("+strings.TrimSpace(online)+")")
}
