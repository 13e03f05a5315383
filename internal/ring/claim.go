package ring

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bpfstream/bpfstream/transport"
)

// One reader per consumer position.
//
// A ring buffer has one consumer position, and a perf event array one
// perf event per CPU entry. Two readers of one position would each hand its
// records over (a ring buffer) or take the entries from each other (a perf
// event array). So every reader claims its positions in this process's
// registry before it reads or installs anything, and a position already
// claimed by an open reader is refused with an error matching
// transport.ErrInUse.
//
// A closed ring buffer reader keeps its claim until it has released the
// rings: Close does not wait for a running Drain (that Drain may be the one
// whose handler called Close), so a Drain can still hand records over after
// Close returns and publish their position only as it leaves. A new reader
// started meanwhile would begin at the older published position and hand
// those records over again. (Not storing the position after Close would not
// help: the records already handed over would then be handed over twice for
// certain.) So a claim of a closed reader is only closing, and a new reader
// of the same ring waits until it is released, its final position
// published. The wait is bounded by handoverTimeout, as a handler may block
// for ever; after that the new reader fails with an error matching
// transport.ErrBusy rather than share the ring. A perf event array's
// entries leave the map when its reader's Close returns (PerfArray.Close),
// which then releases the claim.

// handoverTimeout bounds a new reader's wait for a closed reader of the same
// ring to leave its Drain. A variable for tests.
var handoverTimeout = 5 * time.Second

// Position names one consumer position: a ring buffer (CPU noCPU) or one CPU's
// entry of a perf event array, by kernel map ID. Name is the map's name, for
// errors; it does not take part in the comparison.
type Position struct {
	ID   uint32 // 0 (unknown) is never claimed
	CPU  int
	Name string
}

// noCPU is the CPU of a ring buffer's position.
const noCPU = -1

// RingPosition is the position of the ring buffer map id called name.
func RingPosition(id uint32, name string) Position {
	return Position{ID: id, CPU: noCPU, Name: name}
}

// Claim is one reader's hold on its positions.
type Claim struct {
	keys    []claimKey
	closing bool // guarded by claims; set by Closing
	done    chan struct{}
	once    sync.Once
}

type claimKey struct {
	id  uint32
	cpu int
}

var claims struct {
	sync.Mutex
	held map[claimKey]*Claim
}

// ClaimPositions claims every position of ps for one reader, or none. A
// position held by an open reader fails at once with an error matching
// transport.ErrInUse; one held by a closing reader is waited for, up to
// handoverTimeout in all (then an error matching transport.ErrBusy).
// Release the claim when the reader no longer reads the positions.
func ClaimPositions(ps []Position) (*Claim, error) {
	c := &Claim{done: make(chan struct{})}
	for _, p := range ps {
		if p.ID != 0 {
			c.keys = append(c.keys, claimKey{p.ID, p.CPU})
		}
	}
	deadline := time.Now().Add(handoverTimeout)
	for {
		wait, err := c.tryClaim(ps)
		if wait == nil || err != nil {
			return c, err
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-wait.done:
			timer.Stop()
		case <-timer.C:
			return nil, fmt.Errorf("ring: a closed reader of %s is still in its handler after %s: wait for its Consume to return: %w",
				describe(ps, wait), handoverTimeout, transport.ErrBusy)
		}
	}
}

// tryClaim claims c's positions if none is held, or returns the closing
// claim to wait for, or an error for a position an open reader holds.
func (c *Claim) tryClaim(ps []Position) (wait *Claim, err error) {
	claims.Lock()
	defer claims.Unlock()
	for _, k := range c.keys {
		other := claims.held[k]
		switch {
		case other == nil:
		case !other.closing:
			return nil, fmt.Errorf("ring: %s is already read by an open consumer in this process: close that consumer first: %w",
				describe(ps, other), transport.ErrInUse)
		default:
			wait = other
		}
	}
	if wait != nil {
		return wait, nil
	}
	if claims.held == nil {
		claims.held = make(map[claimKey]*Claim)
	}
	for _, k := range c.keys {
		claims.held[k] = c
	}
	return nil, nil
}

// describe names the first position of ps that other holds.
func describe(ps []Position, other *Claim) string {
	for _, p := range ps {
		if p.ID != 0 && slices.Contains(other.keys, claimKey{p.ID, p.CPU}) {
			if p.CPU == noCPU {
				return fmt.Sprintf("ring buffer map %q (ID %d)", p.Name, p.ID)
			}
			return fmt.Sprintf("CPU %d's entry of perf event array %q (ID %d)", p.CPU, p.Name, p.ID)
		}
	}
	return "a map" // not reached: other holds one of ps
}

// Closing marks the reader closed: a new reader of its positions waits for
// Release instead of failing. Safe on a nil Claim.
func (c *Claim) Closing() {
	if c == nil {
		return
	}
	claims.Lock()
	c.closing = true
	claims.Unlock()
}

// Release gives the positions up. Only the first call does anything; safe
// on a nil Claim.
func (c *Claim) Release() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		claims.Lock()
		for _, k := range c.keys {
			if claims.held[k] == c {
				delete(claims.held, k)
			}
		}
		claims.Unlock()
		close(c.done)
	})
}

// claimRings claims the rings of maps.
func claimRings(maps []RingbufMap) (*Claim, error) {
	ps := make([]Position, len(maps))
	for i, m := range maps {
		ps[i] = RingPosition(m.ID, m.Name)
	}
	return ClaimPositions(ps)
}
