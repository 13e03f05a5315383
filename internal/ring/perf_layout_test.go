package ring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// TestPerfSampleLayouts reads samples whose data size leaves part of the
// record unused (not bpf_perf_event_output's layout, which the runs take)
// between samples the runs take: every sample is handed over once, in order,
// with its own data size, to a per-record and a batch handler.
func TestPerfSampleLayouts(t *testing.T) {
	const size = 40
	lens := []uint32{28, 20, 28, 4, 28}
	mem := make([]byte, 4096)
	for i, ln := range lens {
		off := i * size
		binary.NativeEndian.PutUint32(mem[off:], perfRecordSample)
		binary.NativeEndian.PutUint16(mem[off+6:], size)
		binary.NativeEndian.PutUint32(mem[off+perfHeaderSize:], ln)
		mem[off+perfSampleHeader] = byte(i)
	}
	check := func(t *testing.T, got []transport.Record) {
		t.Helper()
		if len(got) != len(lens) {
			t.Fatalf("%d samples handed over, want %d", len(got), len(lens))
		}
		for i, rec := range got {
			if len(rec.Sample) != int(lens[i]) || rec.Sample[0] != byte(i) {
				t.Fatalf("sample %d: %d bytes starting with %d, want %d bytes starting with %d", i, len(rec.Sample), rec.Sample[0], lens[i], i)
			}
		}
	}
	read := func(t *testing.T, emit *core.Emitter) {
		t.Helper()
		var meta unix.PerfEventMmapPage
		meta.Data_head = uint64(len(lens) * size)
		rg := &perfRing{position: position[uint64]{at: &meta.Data_tail, pub: 0, stored: 0}, meta: &meta, data: unsafe.Pointer(&mem[0]), size: uint64(len(mem)), mask: uint64(len(mem) - 1)}
		r := &Perf{p: &poller{}, opts: PerfOptions{Options: Options{}.withDefaults()}}
		n, moved, err := r.slice(rg, emit)
		if err != nil || n != len(lens) || moved != meta.Data_head || meta.Data_tail != meta.Data_head {
			t.Fatalf("slice: %d records, %d bytes, tail %d, error %v; want %d records, %d bytes and tail", n, moved, meta.Data_tail, err, len(lens), meta.Data_head)
		}
	}
	t.Run("callback", func(t *testing.T) {
		var got []transport.Record
		read(t, core.NewEmitter(func(rec transport.Record) error {
			got = append(got, rec)
			return nil
		}))
		check(t, got)
	})
	t.Run("batch", func(t *testing.T) {
		var got []transport.Record
		read(t, core.NewBatchEmitter(func(recs []transport.Record) error {
			got = append(got, recs...)
			return nil
		}, 256, nil))
		check(t, got)
	})
}
