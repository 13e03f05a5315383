// Package bpfstream opens a transport.Consumer for a BPF map by the map's
// type: a perf event array gets a perfbuf consumer and a ring buffer a ringbuf
// consumer. Agents that know their transport can call perfbuf.New or
// ringbuf.New directly.
//
// The contract every consumer honours (records, borrowed bytes, loss
// accounting, ordering, Close and cancellation) is documented in package
// transport.
package bpfstream
