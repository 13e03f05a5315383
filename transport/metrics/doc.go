// Package metrics exports the counters of bpfstream consumers as Prometheus
// metrics.
//
// A [Collector] holds any number of consumers, each under a name, and reads
// their Stats when Prometheus scrapes it: consuming costs nothing more per
// record than it does without metrics. Register it once:
//
//	col := metrics.NewCollector()
//	col.Add("exec", c)
//	prometheus.MustRegister(col)
//
// Prometheus reads it over HTTP: serve the default registry with
// promhttp.Handler, or a registry of your own with promhttp.HandlerFor
// (package github.com/prometheus/client_golang/prometheus/promhttp):
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(col)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//	go http.ListenAndServe("127.0.0.1:9435", nil)
//
// To count decode failures of a typed adapter (package event), give the
// consumer the Decoder's Stats, which adds them to Stats.DecodeErrors:
//
//	col.Add("exec", c, metrics.WithStats(dec.Stats))
//
// Every metric has the labels consumer (the name given to Add) and transport
// (the consumer's Kind: perfbuf, ringbuf or fake). The counters only grow
// for as long as the consumer lives; alert on their rates:
//
//   - bpfstream_records_total (counter): records handed to the handler
//     (Stats.Records). Records plus lost is what the producers emitted.
//   - bpfstream_bytes_total (counter): the bytes of those records
//     (Stats.Bytes; perfbuf lengths include the kernel's padding).
//   - bpfstream_lost_total (counter): samples emitted that never reached
//     user space (Stats.Lost): the kernel's count for perfbuf, the BPF
//     program's drop counter for ringbuf.
//   - bpfstream_cpu_lost_total (counter, extra label cpu): Lost broken down
//     by CPU (Stats.LostPerCPU), perfbuf only; one series per CPU with a
//     buffer, zeros included.
//   - bpfstream_lost_known (gauge): 1 when lost covers every way a sample
//     can be lost (Stats.LostKnown), 0 for a ringbuf consumer without a drop
//     counter, whose losses are invisible.
//   - bpfstream_decode_errors_total (counter): records that arrived but did
//     not decode (Stats.DecodeErrors; 0 unless WithStats adds them). They are
//     also in records.
//   - bpfstream_late_total (counter): records a re-ordering stage could not
//     place in timestamp order (Stats.Late); delivered, out of order.
//   - bpfstream_wakeups_total (counter): times the consumer woke (or its
//     drain timer fired) and found data (Stats.Wakeups).
//   - bpfstream_pending_bytes (gauge): bytes waiting in the ring(s) at
//     scrape time (Stats.PendingBytes; ringbuf only, 0 for perfbuf).
//   - bpfstream_buffer_bytes (gauge): kernel buffer memory the consumer
//     holds (Stats.BufferBytes).
//
// The counters of a consumer never decrease while it is added, as Prometheus
// requires: when a consumer reports less than before (a ringbuf consumer
// whose drop counter its owner closed, or a WithStats function), the
// Collector exports the largest value it has seen. A consumer is added once,
// under one name: Add refuses it under a second name, whose series would
// count its records twice in any sum.
//
// Useful alerts: rate(bpfstream_lost_total) above 0; bpfstream_lost_known
// == 0; bpfstream_pending_bytes above half of bpfstream_buffer_bytes for a
// while (the reader is falling behind); rate(bpfstream_records_total) at 0
// while producers should be busy; bpfstream_decode_errors_total above 0.
//
// Remove a consumer before closing it, or at least before closing a ringbuf
// drop counter, which Stats reads. To prefix the names or add constant
// labels, register through prometheus.WrapRegistererWithPrefix or
// prometheus.WrapRegistererWith.
package metrics
