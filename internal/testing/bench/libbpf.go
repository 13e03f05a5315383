//go:build libbpf && cgo

package bench

/*
#cgo LDFLAGS: -lbpf
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>

// bench_ctx counts in C, so the libbpf path costs no cgo call per record.
struct bench_ctx {
	uint64_t delivered;
	uint64_t expected;
	uint64_t lost;
	// Delivery latencies (ns), recorded when lat is set: CLOCK_MONOTONIC
	// now minus the sample's bpf_ktime_get_ns at offset 8.
	uint64_t *lat;
	uint64_t nlat, caplat;
};

static void record_latency(struct bench_ctx *c, const void *data, size_t size) {
	struct timespec ts;
	uint64_t kt, now;
	if (!c->lat || c->nlat == c->caplat || size < 16)
		return;
	memcpy(&kt, (const char *)data + 8, sizeof(kt));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	c->lat[c->nlat++] = now > kt ? now - kt : 0;
}

static int rb_sample(void *ctx, void *data, size_t size) {
	struct bench_ctx *c = ctx;
	record_latency(c, data, size);
	if (++c->delivered >= __atomic_load_n(&c->expected, __ATOMIC_RELAXED))
		return -EINTR; // goal reached: make ring_buffer__poll return
	return 0;
}

static struct ring_buffer *bench_ring_new(int fd, struct bench_ctx *c) {
	return ring_buffer__new(fd, rb_sample, c, NULL);
}

static int bench_ring_add(struct ring_buffer *rb, int fd, struct bench_ctx *c) {
	return ring_buffer__add(rb, fd, rb_sample, c);
}

struct lost_event {
	struct perf_event_header header;
	uint64_t id;
	uint64_t lost;
};

struct sample_event {
	struct perf_event_header header;
	uint32_t size;
	char data[];
};

static enum bpf_perf_event_ret pb_event(void *ctx, int cpu, struct perf_event_header *e) {
	struct bench_ctx *c = ctx;
	if (e->type == PERF_RECORD_SAMPLE) {
		struct sample_event *s = (struct sample_event *)e;
		record_latency(c, s->data, s->size);
		if (++c->delivered >= __atomic_load_n(&c->expected, __ATOMIC_RELAXED))
			return LIBBPF_PERF_EVENT_DONE;
	} else if (e->type == PERF_RECORD_LOST) {
		c->lost += ((struct lost_event *)e)->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

// bench_perf_new uses the perf event attributes bpfstream and cilium/ebpf
// use: a BPF output event, wake-up by watermark (1 byte unless set).
static struct perf_buffer *bench_perf_new(int fd, size_t pages, int watermark, struct bench_ctx *c) {
	struct perf_event_attr attr = {0};
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_BPF_OUTPUT;
	attr.sample_type = PERF_SAMPLE_RAW;
	attr.watermark = 1;
	attr.wakeup_watermark = watermark > 0 ? watermark : 1;
	return perf_buffer__new_raw(fd, pages, &attr, pb_event, c, NULL);
}

static void bench_set_expected(struct bench_ctx *c, uint64_t n) {
	__atomic_store_n(&c->expected, n, __ATOMIC_RELAXED);
}
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/bpfstream/bpfstream/internal/testing/producer"
)

// HaveLibbpf reports whether this build has the libbpf path.
const HaveLibbpf = true

// ErrNoLibbpf is never returned in builds with libbpf.
var ErrNoLibbpf error

// libbpfReader is a C consumer on the producer's map: ring_buffer__poll or
// perf_buffer__poll, counting records in a C callback.
type libbpfReader struct {
	ctx     *C.struct_bench_ctx
	rb      *C.struct_ring_buffer
	pb      *C.struct_perf_buffer
	timeout C.int
	wakeups uint64 // polls that found data
}

func openLibbpf(p *producer.Producer, cfg Config, interval time.Duration) (reader, error) {
	r := &libbpfReader{ctx: (*C.struct_bench_ctx)(C.calloc(1, C.size_t(C.sizeof_struct_bench_ctx))), timeout: 100}
	if interval > 0 {
		r.timeout = C.int(max(interval.Milliseconds(), 1))
	}
	C.bench_set_expected(r.ctx, C.uint64_t(^uint64(0)))
	if cfg.Producer.Kind.Ringbuf() {
		// One ring_buffer for all rings, as libbpf users add them.
		rs := rings(p)
		rb, err := C.bench_ring_new(C.int(rs[0].FD()), r.ctx)
		if rb == nil {
			C.free(unsafePointer(r.ctx))
			return nil, fmt.Errorf("bench: ring_buffer__new: %v", err)
		}
		r.rb = rb
		for _, m := range rs[1:] {
			if rc := C.bench_ring_add(rb, C.int(m.FD()), r.ctx); rc < 0 {
				r.close()
				return nil, fmt.Errorf("bench: ring_buffer__add: %d", int(rc))
			}
		}
		return r, nil
	}
	fd := C.int(p.Map().FD())
	pages := cfg.Buffer / os.Getpagesize()
	pb, err := C.bench_perf_new(fd, C.size_t(pages), C.int(perfWatermark(cfg)), r.ctx)
	if pb == nil {
		C.free(unsafePointer(r.ctx))
		return nil, fmt.Errorf("bench: perf_buffer__new_raw: %v", err)
	}
	r.pb = pb
	return r, nil
}

func (r *libbpfReader) run(ctx context.Context, g *goal) error {
	for {
		C.bench_set_expected(r.ctx, C.uint64_t(g.expected.Load()))
		var n C.int
		if r.rb != nil {
			n = C.ring_buffer__poll(r.rb, r.timeout)
			if n == 0 {
				// Timed out: a producer that skipped its wake-ups left
				// the ring off epoll's ready list, and ring_buffer__poll
				// reads only rings epoll reported.
				n = C.ring_buffer__consume(r.rb)
			}
		} else {
			n = C.perf_buffer__poll(r.pb, r.timeout)
			if n == 0 {
				// Timed out: below the watermark nothing wakes epoll,
				// and perf_buffer__poll reads only buffers that did.
				n = C.perf_buffer__consume(r.pb)
			}
		}
		if n > 0 || n == -C.EINTR {
			r.wakeups++
		}
		g.delivered.Store(uint64(r.ctx.delivered))
		if g.done() {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if n < 0 && n != -C.EINTR {
			return fmt.Errorf("bench: libbpf poll: %d", int(n))
		}
	}
}

// wakeupCount reports the polls (and drain-timer consumes) that found data.
func (r *libbpfReader) wakeupCount() uint64 { return r.wakeups }

func (r *libbpfReader) recordLatencies(n int) {
	r.ctx.lat = (*C.uint64_t)(C.calloc(C.size_t(max(n, 1)), 8))
	r.ctx.caplat = C.uint64_t(n)
}

func (r *libbpfReader) latencies() []uint64 {
	if r.ctx.lat == nil {
		return nil
	}
	return append([]uint64(nil), unsafe.Slice((*uint64)(unsafe.Pointer(r.ctx.lat)), int(r.ctx.nlat))...)
}

func (r *libbpfReader) close() error {
	if r.ctx.lat != nil {
		C.free(unsafe.Pointer(r.ctx.lat))
	}
	if r.rb != nil {
		C.ring_buffer__free(r.rb)
	}
	if r.pb != nil {
		C.perf_buffer__free(r.pb)
	}
	C.free(unsafePointer(r.ctx))
	return nil
}

func unsafePointer[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }
