package event

import (
	"reflect"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestExecMatchesBTF checks Exec against struct event in the BTF of every
// compiled reference object, so the Go and C layouts cannot drift apart.
func TestExecMatchesBTF(t *testing.T) {
	goFields := map[string]string{"pid": "Pid", "comm": "RawComm", "filename": "RawFilename"}
	typ := reflect.TypeOf(Exec{})
	for _, obj := range []string{
		"../bpf/perfbufoutput_bpfel.o",
		"../bpf/ringbufoutput_bpfel.o",
		"../bpf/ringbufreservesubmit_bpfel.o",
	} {
		t.Run(obj, func(t *testing.T) {
			spec, err := btf.LoadSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			var s *btf.Struct
			if err := spec.TypeByName("event", &s); err != nil {
				t.Fatal(err)
			}
			if s.Size != uint32(typ.Size()) {
				t.Errorf("sizeof(struct event) = %d, Go Exec is %d bytes", s.Size, typ.Size())
			}
			seen := 0
			for _, m := range s.Members {
				name, ok := goFields[m.Name]
				if !ok {
					t.Errorf("struct event has member %q that Exec does not mirror", m.Name)
					continue
				}
				f, ok := typ.FieldByName(name)
				if !ok {
					t.Fatalf("Exec has no field %s", name)
				}
				seen++
				if off := m.Offset.Bytes(); off != uint32(f.Offset) {
					t.Errorf("%s: C offset %d, Go offset %d", m.Name, off, f.Offset)
				}
				size, err := btf.Sizeof(m.Type)
				if err != nil {
					t.Fatal(err)
				}
				if uintptr(size) != f.Type.Size() {
					t.Errorf("%s: C size %d, Go size %d", m.Name, size, f.Type.Size())
				}
			}
			if seen != len(goFields) {
				t.Errorf("struct event mirrors %d of Exec's %d fields", seen, len(goFields))
			}
		})
	}
}
