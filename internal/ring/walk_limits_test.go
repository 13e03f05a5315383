package ring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/transport"
)

// TestSliceBytesAfterDiscardedRecord: a discarded record skipped by the
// batch walk takes the reader past the slice's SliceBytes. The slice must end
// there: a limit computed as stop-cons wrapped around and let the walk take
// every record up to the producer, in guarded memory like the kernel's
// mapping.
func TestSliceBytesAfterDiscardedRecord(t *testing.T) {
	const size = 4096
	mem := guardedRing(t, size, 2)
	put := func(pos int, ln, bits uint32) int {
		binary.NativeEndian.PutUint32(mem[pos:], ln|bits)
		return pos + int(recordSize(uintptr(ln)))
	}
	pos := put(0, 16, 0)                   // 24 bytes
	pos = put(pos, 120, ringbufDiscardBit) // 128 bytes: past SliceBytes
	for pos < 1024 {
		pos = put(pos, 16, 0)
	}
	var consPos uintptr
	prodPos := uintptr(pos)
	rg := &rbRing{position: position[uintptr]{at: &consPos}, prodPos: &prodPos, data: unsafe.Pointer(&mem[0]), mask: size - 1, size: size}
	r := &Ringbuf{p: &poller{}, opts: Options{SliceBytes: 64}.withDefaults()}
	handed := 0
	emit := core.NewBatchEmitter(func(recs []transport.Record) error { handed += len(recs); return nil }, 256, nil)
	n, moved, _, err := r.slice(rg, emit)
	require.NoError(t, err)
	require.Equal(t, 1, n, "records handed over in a slice of 64 bytes")
	require.Equal(t, 1, handed)
	require.Equal(t, uintptr(24+128), moved)
}
