//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64) && linux

package producer

import (
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// TestVariableSizes: with MaxSampleSize, every sample has the size its
// sequence number gives it, says so in its header, and carries the payload
// pattern, through both kinds that support it.
func TestVariableSizes(t *testing.T) {
	for _, kind := range []Kind{RingbufOutput, Perf} {
		t.Run(kind.String(), func(t *testing.T) {
			const lo, hi, n = HeaderSize, HeaderSize + 37, 200
			p := mustLoad(t, Config{Kind: kind, SampleSize: lo, MaxSampleSize: hi})
			read := openReader(t, p, 1<<20)
			if err := p.Run(0, n); err != nil {
				t.Fatal(err)
			}
			samples, lost := read(n, 5*time.Second)
			if len(samples) != n || lost != 0 {
				t.Fatalf("read %d samples, %d lost; want %d, 0", len(samples), lost, n)
			}
			sizes := make(map[uint32]bool)
			for _, s := range samples {
				h, err := ParseHeader(s)
				if err != nil {
					t.Fatal(err)
				}
				want := uint32(lo + h.Seq%(hi-lo+1))
				if h.Size != want {
					t.Fatalf("seq %d: header size %d, want %d", h.Seq, h.Size, want)
				}
				// perf pads samples, ringbuf does not.
				if int(h.Size) > len(s) || (kind != Perf && int(h.Size) != len(s)) {
					t.Fatalf("seq %d: sample of %d bytes, header says %d", h.Seq, len(s), h.Size)
				}
				for i := range int(h.Size) - HeaderSize {
					if got, want := s[HeaderSize+i], PayloadByte(h.Seq, i); got != want {
						t.Fatalf("seq %d: payload byte %d is %#x, want %#x", h.Seq, i, got, want)
					}
				}
				sizes[h.Size] = true
			}
			if len(sizes) != hi-lo+1 {
				t.Fatalf("%d distinct sizes, want %d", len(sizes), hi-lo+1)
			}
		})
	}
}

// TestVariableSizesBadConfig: variable sizes are refused where the program
// cannot emit them, or out of range.
func TestVariableSizesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Kind: RingbufReserve, SampleSize: 32, MaxSampleSize: 40},
		{Kind: Perf, SampleSize: 32, MaxSampleSize: 31},
		{Kind: Perf, SampleSize: 32, MaxSampleSize: MaxSample + 1},
	} {
		if _, err := cfg.normalize(); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
	if _, err := (Config{Kind: RingbufReserve, SampleSize: 32, MaxSampleSize: 32}).normalize(); err != nil {
		t.Errorf("fixed size as a range refused: %v", err)
	}
}

// TestCallerMaps: the program writes into the caller's ring buffer and drop
// counter, which stay open and usable after the Producer closes.
func TestCallerMaps(t *testing.T) {
	probe := mustLoad(t, Config{Kind: RingbufOutput}) // skips without privileges
	probe.Close()
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	drops, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer drops.Close()

	p := mustLoad(t, Config{Kind: RingbufOutput, SampleSize: 64, Map: rb, Drops: drops})
	if p.Config().RingSize != 4096 {
		t.Fatalf("RingSize %d, want the map's 4096", p.Config().RingSize)
	}
	// 4096 bytes hold 56 records of 64+8 bytes: the rest are dropped into
	// the caller's counter.
	const n = 100
	if err := p.Run(0, n); err != nil {
		t.Fatal(err)
	}
	p.Close()
	var perCPU []uint64
	if err := drops.Lookup(uint32(0), &perCPU); err != nil {
		t.Fatal(err)
	}
	var dropped uint64
	for _, v := range perCPU {
		dropped += v
	}
	if dropped != n-4096/72 {
		t.Fatalf("caller's drop counter says %d, want %d", dropped, n-4096/72)
	}
	if _, err := Load(Config{Kind: Perf, Map: rb}); err == nil {
		t.Fatal("a ring buffer accepted as a perf event array")
	}
	if _, err := Load(Config{Kind: RingbufOutput, Drops: rb}); err == nil {
		t.Fatal("a ring buffer accepted as a drop counter")
	}
}
