package bpf

import (
	"errors"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

// FuzzParseProgram: any string either parses to a program whose name parses
// back to it, or fails with ErrInvalidOptions; nothing panics.
func FuzzParseProgram(f *testing.F) {
	for _, s := range []string{"auto", "perfbuf", "perfbuf-output", "ringbuf-output", "ringbuf-reserve-submit", "", "kprobe", "AUTO"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProgram(s)
		if err != nil {
			if !errors.Is(err, transport.ErrInvalidOptions) {
				t.Fatalf("ParseProgram(%q): %v, want ErrInvalidOptions", s, err)
			}
			return
		}
		back, err := ParseProgram(p.String())
		if err != nil || back != p {
			t.Fatalf("ParseProgram(%q) = %v, but ParseProgram(%q) = %v, %v", s, p, p.String(), back, err)
		}
	})
}
