package ring

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

// A ring buffer has one consumer position, which its reader publishes late
// (see the package doc) and a new reader starts from. Close does not wait
// for a running Drain: that Drain may be the one whose handler called Close.
// So a Drain can still hand records over after Close returns, and publish
// their position only as it leaves; a new reader of the same ring started
// meanwhile would begin at the older published position and hand those
// records over again. (Not storing the position after Close would not help:
// the records already handed over would then be handed over twice for
// certain.)
//
// Instead, the old reader registers its rings here when it is closed, and
// unregisters them once released, its final position published; NewRingbuf
// waits for every registered reader of its rings before it reads their
// consumer positions. The wait is bounded by handoverTimeout, as a handler
// may block for ever; after that NewRingbuf fails with an error matching
// transport.ErrBusy rather than share the ring.

// handoverTimeout bounds NewRingbuf's wait for a closed reader of the same
// ring to leave its Drain. A variable for tests.
var handoverTimeout = 5 * time.Second

// handover is a closed reader's claim on its rings until it is released.
type handover struct {
	ids  []uint32 // map IDs; 0 (unknown) never matches
	done chan struct{}
}

var handovers struct {
	sync.Mutex
	pending []*handover
}

// beginHandover registers a reader of the rings ids that is being closed.
func beginHandover(ids []uint32) *handover {
	h := &handover{ids: ids, done: make(chan struct{})}
	handovers.Lock()
	handovers.pending = append(handovers.pending, h)
	handovers.Unlock()
	return h
}

// end unregisters h: its reader has published its position and released
// the rings.
func (h *handover) end() {
	handovers.Lock()
	handovers.pending = slices.DeleteFunc(handovers.pending, func(p *handover) bool { return p == h })
	handovers.Unlock()
	close(h.done)
}

// awaitHandovers waits, at most timeout in all, until no closed reader of
// one of the rings ids is still draining.
func awaitHandovers(ids []uint32, timeout time.Duration) error {
	var wait []*handover
	handovers.Lock()
	for _, h := range handovers.pending {
		for _, id := range ids {
			if id != 0 && slices.Contains(h.ids, id) {
				wait = append(wait, h)
				break
			}
		}
	}
	handovers.Unlock()
	if len(wait) == 0 {
		return nil
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for _, h := range wait {
		select {
		case <-h.done:
		case <-timer.C:
			return fmt.Errorf("ring: a closed reader of ring buffer map %v is still in its handler after %s: %w", h.ids, timeout, transport.ErrBusy)
		}
	}
	return nil
}
