package event_test

import (
	"encoding/json"
	"testing"

	"github.com/bpfstream/bpfstream/event"
)

// FuzzBTFDecoder feeds hostile records to decoders of every test type: a
// record either decodes to valid JSON or is a counted error, never a
// panic, and field reads agree with it.
func FuzzBTFDecoder(f *testing.F) {
	f.Add(kindsRecord())
	f.Add(kindsRecord()[:117])
	f.Add([]byte{3, 0, 1, 0, 9, 8, 7})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0xc3, 0x28, 0xe2, 0x82})
	decoders := []*event.BTFDecoder{
		btfDecoder(f, "kinds", event.BTFOptions{}),
		btfDecoder(f, "small", event.BTFOptions{}),
		btfDecoder(f, "flex", event.BTFOptions{}),
		btfDecoder(f, "sized", event.BTFOptions{Tail: event.LengthTail("len")}),
		btfDecoder(f, "sized", event.BTFOptions{Tail: event.SizeTail("len")}),
	}
	fields := map[*event.BTFDecoder]string{decoders[0]: "tail", decoders[1]: "pid", decoders[2]: "data", decoders[3]: "data", decoders[4]: "kind"}
	f.Fuzz(func(t *testing.T, rec []byte) {
		for _, d := range decoders {
			before := d.Errors()
			out, err := d.AppendJSON(nil, rec)
			if err != nil {
				if d.Errors() != before+1 {
					t.Fatalf("%s: error %v not counted", d.Type(), err)
				}
				if d.Check(rec) == nil {
					t.Fatalf("%s: Check accepts a record AppendJSON refuses", d.Type())
				}
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("%s: invalid JSON %q from %x", d.Type(), out, rec)
			}
			fld, err := d.Field(fields[d])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fld.AppendJSON(nil, rec); err != nil {
				t.Fatalf("%s: record decodes but field %s does not: %v", d.Type(), fld.Path(), err)
			}
			if _, err := fld.AppendText(nil, rec); err != nil {
				t.Fatal(err)
			}
		}
	})
}
