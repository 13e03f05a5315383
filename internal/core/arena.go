package core

// Arena copies samples into large shared chunks so that owning a record's
// bytes does not cost one allocation per record. A chunk stays alive while any
// record carved from it is referenced; samples larger than a quarter chunk get
// their own allocation so one big sample does not waste a chunk.
type Arena struct {
	buf []byte
	// Chunk is the size of each shared allocation; zero means 256 KiB.
	Chunk int
}

// Copy returns a copy of b that the caller owns.
func (a *Arena) Copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		if a.Chunk <= 0 {
			a.Chunk = 256 << 10
		}
		if len(b) > a.Chunk/4 {
			return append([]byte(nil), b...)
		}
		a.buf = make([]byte, 0, a.Chunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	// Cap the capacity so an append by the receiver cannot overwrite the
	// next record.
	return a.buf[n:len(a.buf):len(a.buf)]
}

// RecordSlab hands out record slices for batches from larger allocations, for
// the same reason.
type RecordSlab struct {
	buf []Record
	// Chunk is how many records each allocation holds.
	Chunk int
}

// Take returns an empty slice with capacity n.
func (s *RecordSlab) Take(n int) []Record {
	if n > cap(s.buf)-len(s.buf) {
		s.buf = make([]Record, 0, max(s.Chunk, n))
	}
	start := len(s.buf)
	s.buf = s.buf[:start+n]
	return s.buf[start : start : start+n]
}
