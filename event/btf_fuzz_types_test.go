package event_test

import (
	"encoding/json"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstream/bpfstream/event"
)

// hostileType builds a struct or union from b: member types, offsets,
// bitfield sizes and the type's size all come from the fuzzer, so the BTF
// can say what no compiler would.
func hostileType(b []byte) btf.Type {
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		v := b[0]
		b = b[1:]
		return v
	}
	char := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	palette := []btf.Type{
		char,
		&btf.Int{Name: "u16", Size: 2},
		&btf.Int{Name: "s32", Size: 4, Encoding: btf.Signed},
		&btf.Int{Name: "u64", Size: 8},
		&btf.Int{Name: "bool", Size: 1, Encoding: btf.Bool},
		&btf.Int{Name: "s128", Size: 16, Encoding: btf.Signed},
		&btf.Enum{Name: "e", Size: 4, Values: []btf.EnumValue{{Name: "A", Value: 1}}},
		&btf.Float{Name: "double", Size: 8},
		&btf.Pointer{Target: &btf.Void{}},
		&btf.Array{Type: char, Nelems: 5},
		&btf.Array{Type: &btf.Int{Name: "u16", Size: 2}},
		&btf.Struct{Name: "in", Size: 4, Members: []btf.Member{{Name: "x", Type: &btf.Int{Name: "u16", Size: 2}, Offset: 16}}},
	}
	var members []btf.Member
	for n := int(next() % 6); n > 0; n-- {
		members = append(members, btf.Member{
			Name:         string(rune('a' + len(members))),
			Type:         palette[int(next())%len(palette)],
			Offset:       btf.Bits(next()),
			BitfieldSize: btf.Bits(next() % 12 * (next() % 2)),
		})
	}
	size := uint32(next() % 48)
	if next()%4 == 0 {
		return &btf.Union{Name: "fuzz", Size: size, Members: members}
	}
	return &btf.Struct{Name: "fuzz", Size: size, Members: members}
}

// FuzzBTFDecoderTypes builds decoders from hostile types and feeds them
// hostile records: a type is refused or its records decode to valid JSON
// or an error, never a panic.
func FuzzBTFDecoderTypes(f *testing.F) {
	f.Add([]byte{3, 2, 0, 0, 0, 3, 32, 0, 0, 9, 96, 0, 0, 24, 1}, []byte("0123456789abcdefghijklmnopqrstuvwxyz"))
	f.Add([]byte{2, 10, 0, 0, 0, 1, 64, 0, 0, 16, 0}, []byte{1, 2, 3})
	f.Add([]byte{1, 2, 5, 7, 1, 8, 0}, []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, typ, rec []byte) {
		d, err := event.NewBTFDecoder(hostileType(typ), event.BTFOptions{})
		if err != nil {
			return
		}
		out, err := d.AppendJSON(nil, rec)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
		for _, path := range d.Fields() {
			fld, err := d.Field(path)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = fld.AppendText(nil, rec)
			_, _ = fld.Bytes(rec)
			_, _ = fld.Uint(rec)
		}
	})
}
