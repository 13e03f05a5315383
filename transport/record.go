package transport

// NoCPU is [Record.CPU] for transports that do not say which CPU produced a
// sample (ringbuf).
const NoCPU = -1

// Record is one sample read from a kernel buffer.
//
// On the callback path Sample is borrowed: it points into the kernel's buffer
// (or memory the consumer reuses), and is valid only until the [Handler]
// returns. Copy it to keep it. Records received from a channel own their bytes.
type Record struct {
	// Sample holds the bytes the BPF program emitted. perfbuf samples carry
	// 0-7 bytes of trailing padding (the kernel aligns a sample and its
	// 4-byte size to 8 bytes), so decoders must read a fixed-size prefix
	// rather than trust len(Sample). ringbuf samples have their exact
	// length.
	Sample []byte
	// CPU is the CPU whose buffer held the sample (perfbuf), or [NoCPU] (-1).
	CPU int32
	// Source is the index of the map the sample came from when one consumer
	// reads several maps; 0 otherwise.
	Source int32
}

// CPU and Source are 32-bit so that a Record is 32 bytes, the largest struct
// the Go compiler keeps in registers: a larger Record is built in memory and
// copied for every handler call (BENCHMARKS.md, "Choices in the code"), and
// batches and channels move fewer bytes per record.
