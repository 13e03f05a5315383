package event_test

import (
	"encoding/binary"
	"encoding/json"
	"structs"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

// small mirrors struct small of the test types: a 24-byte event.
type small struct {
	_    structs.HostLayout
	Ts   uint64 `json:"ts"`
	Pid  uint32 `json:"pid"`
	Tid  uint32 `json:"tid"`
	Ret  int32  `json:"ret"`
	CPU  uint16 `json:"cpu"`
	Kind uint8  `json:"kind"`
	OK   bool   `json:"ok"`
}

// execJSON is what a program without the BTF decoder marshals for an
// event.Exec: its strings cut at their NUL.
type execJSON struct {
	Pid      int32  `json:"pid"`
	Comm     string `json:"comm"`
	Filename string `json:"filename"`
}

func execRecord() []byte {
	var e event.Exec
	e.Pid = 4242
	copy(e.RawComm[:], "bash")
	copy(e.RawFilename[:], "/usr/bin/ls")
	b, _ := event.Encode(e)
	return b
}

func smallRecord() []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint64(b, 1733330000123456789)
	binary.LittleEndian.PutUint32(b[8:], 4242)
	binary.LittleEndian.PutUint32(b[12:], 4243)
	binary.LittleEndian.PutUint32(b[16:], 0xfffffffe)
	binary.LittleEndian.PutUint16(b[20:], 3)
	b[22], b[23] = 2, 1
	return b
}

func execType(t testing.TB) btf.Type {
	spec, err := btf.LoadSpec("../bpf/ringbufreservesubmit_bpfel.o")
	require.NoError(t, err)
	var s *btf.Struct
	require.NoError(t, spec.TypeByName("event", &s))
	return s
}

// TestBTFJSONMatchesTypedJSON checks that the benchmarks' two paths write
// the same JSON, so they compare equal work.
func TestBTFJSONMatchesTypedJSON(t *testing.T) {
	d, err := event.NewBTFDecoder(execType(t), event.BTFOptions{Transport: transport.KindRingbuf})
	require.NoError(t, err)
	got, err := d.AppendJSON(nil, execRecord())
	require.NoError(t, err)
	e, err := event.NewExecDecoder().Decode(execRecord())
	require.NoError(t, err)
	want, err := json.Marshal(execJSON{e.Pid, e.Comm(), e.Filename()})
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))

	s := btfDecoder(t, "small", event.BTFOptions{Transport: transport.KindRingbuf})
	got, err = s.AppendJSON(nil, smallRecord())
	require.NoError(t, err)
	sd, err := event.NewDecoder[small]()
	require.NoError(t, err)
	v, err := sd.Decode(smallRecord())
	require.NoError(t, err)
	want, err = json.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
}

func TestBTFDecoderAppendJSONDoesNotAllocate(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	rec, buf := kindsRecord(), make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.AppendJSON(buf[:0], rec); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

func reportRecords(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSON compares writing one record as JSON from its BTF with
// decoding it into its Go struct and marshalling that with encoding/json.
func BenchmarkJSON(b *testing.B) {
	exec, sml := execRecord(), smallRecord()
	b.Run("exec/btf", func(b *testing.B) {
		d, err := event.NewBTFDecoder(execType(b), event.BTFOptions{Transport: transport.KindRingbuf})
		require.NoError(b, err)
		benchAppendJSON(b, d, exec)
	})
	b.Run("exec/typed+marshal", func(b *testing.B) {
		d := event.NewExecDecoder()
		b.ReportAllocs()
		for b.Loop() {
			var e event.Exec
			_ = d.DecodeInto(&e, exec)
			_, _ = json.Marshal(execJSON{e.Pid, e.Comm(), e.Filename()})
		}
		reportRecords(b)
	})
	b.Run("small/btf", func(b *testing.B) {
		benchAppendJSON(b, btfDecoder(b, "small", event.BTFOptions{Transport: transport.KindRingbuf}), sml)
	})
	b.Run("small/typed+marshal", func(b *testing.B) {
		d, err := event.NewDecoder[small]()
		require.NoError(b, err)
		b.ReportAllocs()
		for b.Loop() {
			var v small
			_ = d.DecodeInto(&v, sml)
			_, _ = json.Marshal(&v)
		}
		reportRecords(b)
	})
}

func benchAppendJSON(b *testing.B, d *event.BTFDecoder, rec []byte) {
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = d.AppendJSON(buf[:0], rec)
	}
	reportRecords(b)
}
