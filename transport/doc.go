// Package transport is bpfstream's front door: one Consumer interface over BPF
// perf buffers (package perfbuf) and ring buffers (package ringbuf), the
// record, handler and stats types they share, and the channel API.
//
// Two ways to read:
//
//   - Callback: Consumer.Consume(ctx, handler) hands each record to handler
//     in arrival order; Consumer.ConsumeBatches(ctx, batchHandler) hands
//     over slices of consecutive records, one call per batch instead of one
//     per record. Record.Sample is borrowed (valid until the handler
//     returns) and no allocation is made per record. This is the fast path.
//   - Channel: Records (one record per send) and Batches (a *Batch per send)
//     start a goroutine that consumes into a channel. Records own their
//     bytes. A Batch owns copies of its records' bytes in memory that
//     Batch.Release recycles for the next batches, or, with
//     ChannelOptions.Borrow, borrows them from the kernel buffer, whose
//     space Release gives back (in buffer order, whatever order batches are
//     released in). The channel is closed when consumption ends; Err then
//     tells why, like bufio.Scanner.Err. A slow reader slows the consumer
//     down (and the kernel buffer fills, where losses are counted); the
//     library never drops records in user space.
//
// Open picks the right implementation for a map by its type.
//
// Nothing is lost silently: every sample a producer emitted is either
// delivered or counted in Stats.Lost (for ringbuf, when the program counts
// its drops; see package ringbuf).
package transport
