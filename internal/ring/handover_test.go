package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/core"
	"github.com/bpfstream/bpfstream/internal/testing/producer"
	"github.com/bpfstream/bpfstream/internal/testing/streamtest"
	"github.com/bpfstream/bpfstream/transport"
)

// TestHandoverWaitsForClosedReader: a reader closed while its handler holds
// a record keeps the ring until the handler returns. A new reader of the
// ring waits for that, gives up after handoverTimeout with ErrBusy, and
// once the old reader has left starts after the record it handed over.
func TestHandoverWaitsForClosedReader(t *testing.T) {
	p := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 10})
	require.NoError(t, p.Run(0, 10))
	info, err := p.Map().Info()
	require.NoError(t, err)
	id, ok := info.ID()
	require.True(t, ok, "the kernel reports no map ID")
	rm := []RingbufMap{{FD: p.Map().FD(), Size: int(p.Map().MaxEntries()), ID: uint32(id)}}

	old, err := NewRingbuf(rm, Options{})
	require.NoError(t, err)
	inHandler, release := make(chan struct{}), make(chan struct{})
	drained := make(chan error, 1)
	go func() {
		drained <- old.Drain(core.NewEmitter(func(transport.Record) error {
			close(inHandler)
			<-release
			return nil
		}))
	}()
	<-inHandler
	require.NoError(t, old.Close())

	defer func(d time.Duration) { handoverTimeout = d }(handoverTimeout)
	handoverTimeout = 100 * time.Millisecond
	_, err = NewRingbuf(rm, Options{})
	require.ErrorIs(t, err, transport.ErrBusy)

	// A ring the closed reader does not read is not held up.
	other := streamtest.Load(t, producer.Config{Kind: producer.RingbufReserve, RingSize: 16 << 10})
	oinfo, err := other.Map().Info()
	require.NoError(t, err)
	oid, _ := oinfo.ID()
	r, err := NewRingbuf([]RingbufMap{{FD: other.Map().FD(), Size: 16 << 10, ID: uint32(oid)}}, Options{})
	require.NoError(t, err)
	require.NoError(t, r.Close())

	handoverTimeout = 10 * time.Second
	opened := make(chan error, 1)
	var next *Ringbuf
	go func() {
		var err error
		next, err = NewRingbuf(rm, Options{})
		opened <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	require.NoError(t, <-drained)
	require.NoError(t, <-opened)
	defer next.Close()
	// The old reader handed over exactly one record (of HeaderSize bytes
	// plus the 8-byte header) and published it as it left.
	require.Equal(t, uintptr(producer.HeaderSize+8), next.rings[0].cons)
}
