// Package arena hands out owned copies of samples from large shared
// allocations, so that owning a record's bytes does not cost one allocation
// per record.
package arena

// Bytes copies samples into large shared chunks. A chunk stays alive while any
// sample carved from it is referenced; samples larger than a quarter chunk get
// their own allocation so one big sample does not waste a chunk.
type Bytes struct {
	buf []byte
	// Chunk is the size of each shared allocation; zero means 256 KiB.
	Chunk int
}

// Copy returns a copy of b that the caller owns.
func (a *Bytes) Copy(b []byte) []byte {
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
	// next sample.
	return a.buf[n:len(a.buf):len(a.buf)]
}
