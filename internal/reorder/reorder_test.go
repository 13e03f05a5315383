package reorder

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/stretchr/testify/require"
)

func tsOf(b []byte) (uint64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

func sample(ts uint64, id uint32) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint64(b, ts)
	binary.LittleEndian.PutUint32(b[8:], id)
	return b
}

type collector struct{ ts, ids []uint64 }

func (c *collector) out(r transport.Record) error {
	ts, _ := tsOf(r.Sample)
	c.ts = append(c.ts, ts)
	c.ids = append(c.ids, uint64(binary.LittleEndian.Uint32(r.Sample[8:])))
	return nil
}

// fakeClock lets tests move time by hand.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time { return f.t }

// TestMergesInterleavedStreams: 4 streams, each ordered, pushed in random
// interleaving with a window no record outlives: the output is fully ordered,
// nothing is late, nothing is lost.
func TestMergesInterleavedStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const streams, perStream = 4, 2000
	var next [streams]uint64
	var pending [streams]int
	for i := range pending {
		pending[i] = perStream
		next[i] = uint64(rng.IntN(100))
	}
	s := New(tsOf, time.Hour, 0)
	var c collector
	id := uint32(0)
	for left := streams * perStream; left > 0; left-- {
		k := rng.IntN(streams)
		for pending[k] == 0 {
			k = (k + 1) % streams
		}
		pending[k]--
		next[k] += uint64(rng.IntN(50))
		require.NoError(t, s.Push(transport.Record{Sample: sample(next[k], id), CPU: int32(k)}, k, c.out))
		id++
	}
	require.NoError(t, s.Flush(c.out))
	require.Len(t, c.ts, streams*perStream)
	require.Zero(t, s.Late())
	require.Zero(t, s.Held())
	for i := 1; i < len(c.ts); i++ {
		require.LessOrEqual(t, c.ts[i-1], c.ts[i], "position %d", i)
	}
}

// TestWindowBoundsHolding: a record is held while another stream has been
// seen but is empty, and released once the window has passed.
func TestWindowBoundsHolding(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	s := New(tsOf, 100*time.Millisecond, 0)
	s.now = clock.now
	var c collector
	require.NoError(t, s.Push(transport.Record{Sample: sample(10, 0)}, 0, c.out))
	require.Len(t, c.ts, 1, "only one stream seen: provably oldest")
	require.NoError(t, s.Push(transport.Record{Sample: sample(20, 1)}, 1, c.out))
	require.NoError(t, s.Push(transport.Record{Sample: sample(30, 2)}, 1, c.out))
	require.Len(t, c.ts, 1, "stream 0 is empty and may still send older records")

	expecting := New(tsOf, time.Second, 2)
	var c2 collector
	require.NoError(t, expecting.Push(transport.Record{Sample: sample(10, 0)}, 0, c2.out))
	require.Empty(t, c2.ts, "stream 1 is expected and may send older records")
	require.Equal(t, 2, s.Held())

	clock.t = clock.t.Add(99 * time.Millisecond)
	require.NoError(t, s.Release(c.out))
	require.Len(t, c.ts, 1)
	clock.t = clock.t.Add(time.Millisecond)
	require.NoError(t, s.Release(c.out))
	require.Equal(t, []uint64{10, 20, 30}, c.ts)

	// Stream 0 now delivers something older than what left: late.
	require.NoError(t, s.Push(transport.Record{Sample: sample(15, 3)}, 0, c.out))
	require.Equal(t, uint64(1), s.Late())
	require.Equal(t, []uint64{10, 20, 30, 15}, c.ts)
}

func TestWindowZeroReleasesAtOnceAndCountsLate(t *testing.T) {
	s := New(tsOf, 0, 0)
	var c collector
	for i, ts := range []uint64{5, 3, 8, 8, 1, 9} {
		require.NoError(t, s.Push(transport.Record{Sample: sample(ts, uint32(i))}, i%2, c.out))
	}
	require.Equal(t, []uint64{5, 3, 8, 8, 1, 9}, c.ts)
	require.Equal(t, uint64(2), s.Late())
}

func TestNoTimestampIsLate(t *testing.T) {
	s := New(tsOf, time.Second, 0)
	var c collector
	require.NoError(t, s.Push(transport.Record{Sample: []byte{1, 2}}, 0, func(transport.Record) error { c.ts = append(c.ts, 0); return nil }))
	require.Equal(t, uint64(1), s.Late())
	require.Len(t, c.ts, 1)
}

func TestReleasedRecordsOwnTheirBytes(t *testing.T) {
	s := New(tsOf, time.Hour, 0)
	buf := sample(1, 7)
	var got []transport.Record
	keep := func(r transport.Record) error { got = append(got, r); return nil }
	require.NoError(t, s.Push(transport.Record{Sample: buf}, 0, keep))
	buf[0] = 0xff
	require.Len(t, got, 1)
	ts, _ := tsOf(got[0].Sample)
	require.Equal(t, uint64(1), ts)
}

// FuzzStage feeds arbitrary timestamps (any order, duplicates, zero) on
// arbitrary streams: every record comes out exactly once, and the output is
// ordered except for the records counted late.
func FuzzStage(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 1, 2, 2, 3, 3}, uint8(10))
	f.Add([]byte{9, 1, 8, 0, 7, 1, 7, 0, 0, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, window uint8) {
		clock := &fakeClock{t: time.Unix(0, 0)}
		s := New(tsOf, time.Duration(window)*time.Millisecond, int(window%3))
		s.now = clock.now
		var c collector
		n := 0
		for i := 0; i+1 < len(data); i += 2 {
			ts, key := uint64(data[i]), int(data[i+1]%4)
			if err := s.Push(transport.Record{Sample: sample(ts, uint32(n))}, key, c.out); err != nil {
				t.Fatal(err)
			}
			n++
			clock.t = clock.t.Add(time.Millisecond)
			if err := s.Release(c.out); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(c.out); err != nil {
			t.Fatal(err)
		}
		if len(c.ids) != n || s.Held() != 0 {
			t.Fatalf("pushed %d, released %d, held %d", n, len(c.ids), s.Held())
		}
		seen := make(map[uint64]bool)
		for _, id := range c.ids {
			if seen[id] {
				t.Fatalf("record %d released twice", id)
			}
			seen[id] = true
		}
		// Each late record put into an otherwise ordered output adds at
		// most one descent, so descents beyond Late mean misplaced records.
		var descents uint64
		for i := 1; i < len(c.ts); i++ {
			if c.ts[i] < c.ts[i-1] {
				descents++
			}
		}
		if descents > s.Late() {
			t.Fatalf("%d descents in %v but only %d records counted late", descents, c.ts, s.Late())
		}
	})
}
