package transport

// arena copies samples into large shared chunks so that owning a record's
// bytes does not cost one allocation per record. A chunk stays alive while any
// record carved from it is referenced; samples larger than a quarter chunk get
// their own allocation so one big sample does not waste a chunk.
type arena struct {
	buf   []byte
	chunk int
}

func (a *arena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		if len(b) > a.chunk/4 {
			return append([]byte(nil), b...)
		}
		a.buf = make([]byte, 0, a.chunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	// Cap the capacity so an append by the receiver cannot overwrite the
	// next record.
	return a.buf[n:len(a.buf):len(a.buf)]
}

// recordSlab hands out record slices for batches from larger allocations, for
// the same reason.
type recordSlab struct {
	buf   []Record
	chunk int
}

func (s *recordSlab) take(n int) []Record {
	if n > cap(s.buf)-len(s.buf) {
		s.buf = make([]Record, 0, max(s.chunk, n))
	}
	start := len(s.buf)
	s.buf = s.buf[:start+n]
	return s.buf[start : start : start+n]
}
