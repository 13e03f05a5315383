package ring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// TestPerfLossHandlerPanicBatch: with a batch handler, the loss handler
// (OnLost) panics on a PERF_RECORD_LOST that follows samples gathered into a
// batch. After the panic is recovered, the next Drain hands every sample
// over once and the loss is counted once.
func TestPerfLossHandlerPanicBatch(t *testing.T) {
	const size = 4096
	mem := make([]byte, size)
	rec := (perfSampleHeader + 16 + 7) &^ 7
	pos := 0
	sample := func(seq uint32) {
		binary.NativeEndian.PutUint32(mem[pos:], perfRecordSample)
		binary.NativeEndian.PutUint16(mem[pos+6:], uint16(rec))
		binary.NativeEndian.PutUint32(mem[pos+perfHeaderSize:], uint32(rec-perfSampleHeader))
		binary.NativeEndian.PutUint32(mem[pos+perfSampleHeader:], seq)
		pos += rec
	}
	for i := range 3 {
		sample(uint32(i))
	}
	binary.NativeEndian.PutUint32(mem[pos:], perfRecordLost)
	binary.NativeEndian.PutUint16(mem[pos+6:], perfHeaderSize+16)
	binary.NativeEndian.PutUint64(mem[pos+perfHeaderSize+8:], 5)
	pos += perfHeaderSize + 16
	for i := 3; i < 5; i++ {
		sample(uint32(i))
	}

	var meta unix.PerfEventMmapPage
	meta.Data_head = uint64(pos)
	p, err := newPoller(1, 0)
	require.NoError(t, err)
	counters := core.NewCounters(1)
	panics := 0
	r := &Perf{
		p:     p,
		visit: newVisitSet(1, 0),
		opts: PerfOptions{Options: Options{Counters: counters}.withDefaults(), OnLost: func(int, uint64) {
			if panics++; panics == 1 {
				panic("OnLost")
			}
		}},
		rings: []perfRing{{meta: &meta, data: unsafe.Pointer(&mem[0]), size: size, mask: size - 1, fd: -1}},
	}
	r.rings[0].position = position[uint64]{at: &meta.Data_tail}
	r.visit.addAll()
	t.Cleanup(func() { _ = r.Close() })

	var got []uint32
	emit := core.NewBatchEmitter(func(recs []transport.Record) error {
		for _, rec := range recs {
			got = append(got, binary.NativeEndian.Uint32(rec.Sample))
		}
		return nil
	}, 256, nil)
	func() {
		defer func() { require.Equal(t, "OnLost", recover()) }()
		_ = r.Drain(emit)
	}()
	require.NoError(t, r.Drain(emit))
	require.Equal(t, []uint32{0, 1, 2, 3, 4}, got, "samples handed over")
	require.Equal(t, uint64(5), counters.Snapshot().Lost, "losses counted")
}
