package transporttest

import (
	"github.com/cilium/ebpf"

	"github.com/bpfstream/bpfstream/ringbuf"
)

// KernelProducerOptions configure a [KernelProducer]. The zero value emits
// [SampleHeaderSize]-byte samples on CPU 0 with bpf_ringbuf_output (or
// bpf_perf_event_output) and the kernel's adaptive wake-ups, without a drop
// counter. The kernel producer needs Linux on a little-endian machine.
type KernelProducerOptions struct {
	// DropCounter is your drop counter, as for [ringbuf.Options.DropCounter]:
	// a BPF_MAP_TYPE_PERCPU_ARRAY of u32 -> u64 whose slot 0 the program
	// increments for every sample it fails to write. Pass the same map to
	// [ringbuf.New] so that Stats.Lost counts them. For a perf event array
	// the kernel counts the losses already (Stats.Lost); a drop counter
	// there counts the same losses a second time.
	DropCounter *ebpf.Map
	// SampleSize is the size of every sample in bytes, from
	// [SampleHeaderSize] to [MaxSampleSize]; 0 means SampleHeaderSize.
	SampleSize int
	// VarSampleSize, when above SampleSize (at most [MaxSampleSize]), makes
	// the sizes vary between SampleSize and VarSampleSize with the
	// sequence number: sample seq has SampleSize + seq % (VarSampleSize -
	// SampleSize + 1) bytes ([SampleHeader.Size] says so), and its payload
	// byte i after the header is [PayloadByte](seq, i). Not with Reserve.
	VarSampleSize int
	// CPU is the CPU that Produce runs the program on ([Run] takes its own).
	CPU int
	// Reserve writes ring buffer samples in place with
	// bpf_ringbuf_reserve and bpf_ringbuf_submit instead of copying them
	// with bpf_ringbuf_output. Ring buffers only.
	Reserve bool
	// Wakeup is the ring buffer wake-up policy of the program, and
	// WakeupBytes its threshold ([ringbuf.WakeupBytes] only). A consumer of
	// a program that skips wake-ups must drain on a timer
	// ([ringbuf.Options.DrainInterval]). Ring buffers only.
	Wakeup      ringbuf.Wakeup
	WakeupBytes int
}
