// Package event decodes raw BPF samples into fixed-layout Go structs.
//
// A Decoder[T] copies the first unsafe.Sizeof(T) bytes of a sample into a T,
// in host byte order: T's Go memory layout must equal the C layout of the
// struct the BPF program emits, which holds for structs of sized integers,
// floats, bools and arrays of them with the same field order (both follow the
// platform's natural alignment). Types whose size is not fixed (pointers,
// slices, strings, maps, int, uint, uintptr, ...) are rejected when the
// Decoder is built, never at decode time.
//
// A sample shorter than T is an error (*ShortSampleError, matching
// [ErrShortSample]); by default trailing bytes are ignored, because perf samples
// are padded to 8 bytes, so a Go struct smaller than the C one decodes without
// complaint. A strict Decoder ([NewDecoder] with [Strict](kind)) accepts only the
// exact length a T has on the transport, padding included, and refuses any
// other (*SampleSizeError, matching [ErrSampleSize]), counting it in
// Stats.DecodeErrors.
//
// Variable-length events, a fixed header followed by a tail of bytes (a path,
// a packet, a payload written with bpf_ringbuf_output or
// bpf_perf_event_output of a computed size), decode with a [VarDecoder]: the
// header into an H, the tail as a sub-slice of the sample, without copying.
// The tail ends where a field of the header says ([LengthTail]: the tail's
// length; [SizeTail]: the sample's size) or at the end of the sample
// ([RemainingTail]). Use a length field on perfbuf, which pads samples: a
// remaining-bytes tail there includes the padding. A declared length beyond
// the sample is a *TailLengthError ([ErrTailLength]), counted like every
// decode error. VarHandler and [NewVarStream] are the adapters.
//
// Without a Go type, a BTFDecoder decodes records by the BTF type that
// describes them (from an object file or the kernel, through cilium/ebpf's
// btf package): AppendJSON writes a record as JSON into a caller's buffer
// without allocating, and BTFDecoder.Field reads one member by its C path
// ("task.pid") for filters. A record that does not match its type is a
// *LayoutError naming the type, member and offset, counted like every
// decode error.
//
// Encode turns a Go value into the bytes a program emits for it (and
// [VarDecoder.Encode] a header and a tail), for tests.
//
// Handler adapts a typed function to a transport.Handler for the callback
// path; [NewStream] turns a Consumer into a channel of decoded events. Exec
// mirrors the event of bpfstream's reference exec programs (package bpf).
package event
