package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfstream/bpfstream/internal/core"
)

// A ring buffer reader's wait parks in the runtime's poller, and still ends
// as an epoll_wait would: by a ready fd, by its timeout, with nothing
// reported when nothing is ready. A perf reader's poller blocks in
// epoll_wait instead (see newPoller).
func TestParkerWaits(t *testing.T) {
	p, err := newPoller(1, 0, true)
	require.NoError(t, err)
	t.Cleanup(p.closeFDs)
	require.True(t, p.park.pollable, "the runtime's poller refused the epoll fd: the reader would block in epoll_wait")

	// A pipe stands in for a buffer.
	var fds [2]int
	require.NoError(t, unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK))
	t.Cleanup(func() { _ = unix.Close(fds[0]); _ = unix.Close(fds[1]) })
	require.NoError(t, p.add(fds[0], 0))

	start := time.Now()
	n, err := p.park.wait(p.events, 20)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is ready: the wait ends by its timeout")
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)

	go func() {
		time.Sleep(10 * time.Millisecond)
		_, _ = unix.Write(fds[1], []byte{1})
	}()
	n, err = p.park.wait(p.events, -1)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.EqualValues(t, 0, p.events[0].Pad, "the buffer's index")

	// Level-triggered: still ready until read, also to a parked wait.
	n, err = p.park.wait(p.events, -1)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var b [1]byte
	_, _ = unix.Read(fds[0], b[:])

	// The eventfd (Interrupt, Close) ends a parked wait too.
	go func() {
		time.Sleep(10 * time.Millisecond)
		p.wake()
	}()
	v := newVisitSet(1, 0)
	_, fired, err := p.epoll(-1, &v)
	require.True(t, fired)
	require.ErrorIs(t, err, core.ErrWake, "an interrupted wait returns ErrWake")
}

func TestPerfPollerDoesNotPark(t *testing.T) {
	p, err := newPoller(1, 0, false)
	require.NoError(t, err)
	t.Cleanup(p.closeFDs)
	require.Nil(t, p.park)
}
