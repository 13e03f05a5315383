package event_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/event"
)

// kindsObject holds the test types, compiled by clang (see its C source).
const kindsObject = "../internal/testing/btfobj/kinds.o"

func btfType(t testing.TB, name string) btf.Type {
	t.Helper()
	spec, err := btf.LoadSpec(kindsObject)
	require.NoError(t, err)
	var s *btf.Struct
	require.NoError(t, spec.TypeByName(name, &s))
	return s
}

func btfDecoder(t testing.TB, name string, opts event.BTFOptions) *event.BTFDecoder {
	t.Helper()
	d, err := event.NewBTFDecoder(btfType(t, name), opts)
	require.NoError(t, err)
	return d
}

// kindsRecord returns a struct kinds with a value in every member.
func kindsRecord() []byte {
	b := make([]byte, 128)
	le := binary.LittleEndian
	b[0] = 0x80                          // i8 -128
	b[1] = 0xff                          // u8 255
	le.PutUint16(b[2:], 0x8000)          // i16 -32768
	le.PutUint16(b[4:], 0xffff)          // u16
	le.PutUint32(b[8:], 0xfffffffe)      // i32 -2
	le.PutUint32(b[12:], 0xffffffff)     // u32
	le.PutUint64(b[16:], 1<<63)          // i64 min
	le.PutUint64(b[24:], math.MaxUint64) // u64
	b[32] = 2                            // ok: any non-zero byte is true
	le.PutUint32(b[36:], 7)              // color BLUE
	le.PutUint32(b[40:], 0xffffffff)     // delta DOWN (-1)
	copy(b[44:], "bash\x00xyz")          // name, garbage after the NUL
	le.PutUint16(b[52:], 80)             // addrs[0].port
	copy(b[54:], []byte{10, 0, 0, 1})    // addrs[0].ip
	le.PutUint16(b[58:], 443)            // addrs[1].port
	copy(b[60:], []byte{192, 168, 1, 2})
	le.PutUint32(b[64:], 0x01020304) // u.word
	le.PutUint32(b[68:], 0xffffffff) // anon_a / anon_b
	// flag=1 (bit 0), level=5 (bits 1-3), neg=-3 (bits 4-7), shade=GREEN (byte 73, bits 0-3)
	b[72] = 1 | 5<<1 | 0xd<<4
	b[73] = 1
	le.PutUint64(b[80:], 0xffff888012345678) // ptr
	le.PutUint32(b[88:], math.Float32bits(1.5))
	le.PutUint64(b[96:], math.Float64bits(-0.25))
	le.PutUint32(b[104:], 42)             // q
	copy(b[108:], "ab\x00\x00cd\x00\x00") // words
	copy(b[116:], "t\"\\\n\xff")          // tail: quote, backslash, newline, a byte that is not UTF-8
	return b
}

const kindsJSON = `{"i8":-128,"u8":255,"i16":-32768,"u16":65535,"i32":-2,"u32":4294967295,` +
	`"i64":-9223372036854775808,"u64":18446744073709551615,"ok":true,"color":"BLUE","delta":"DOWN",` +
	`"name":"bash","addrs":[{"port":80,"ip":[10,0,0,1]},{"port":443,"ip":[192,168,1,2]}],` +
	`"u":{"word":16909060,"bytes":[4,3,2,1]},"anon_a":4294967295,"anon_b":-1,` +
	`"flag":1,"level":5,"neg":-3,"shade":"GREEN","ptr":18446612682375452280,"f32":1.5,"f64":-0.25,` +
	`"q":42,"words":["ab","cd"],"tail":"t\"\\\n\u00ff"}`

func TestBTFDecoderWritesEveryKind(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	require.Equal(t, 128, d.Size())
	out, err := d.AppendJSON([]byte("prefix "), kindsRecord())
	require.NoError(t, err)
	require.Equal(t, "prefix "+kindsJSON, string(out))
	require.True(t, json.Valid(out[len("prefix "):]))
	require.Zero(t, d.Errors())
}

func TestBTFDecoderWritesUnknownEnumValuesAsNumbers(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	rec := kindsRecord()
	binary.LittleEndian.PutUint32(rec[36:], 5)
	binary.LittleEndian.PutUint32(rec[40:], 0xfffffff0)
	f, err := d.Field("color")
	require.NoError(t, err)
	out, err := f.AppendJSON(nil, rec)
	require.NoError(t, err)
	require.Equal(t, "5", string(out))
	// clang 14 does not mark enums with negative values signed in BTF.
	f, err = d.Field("delta")
	require.NoError(t, err)
	out, err = f.AppendJSON(nil, rec)
	require.NoError(t, err)
	require.Equal(t, "4294967280", string(out))

	signed := &btf.Struct{Name: "s", Size: 4, Members: []btf.Member{{Name: "e", Type: &btf.Enum{
		Name: "e", Size: 4, Signed: true, Values: []btf.EnumValue{{Name: "DOWN", Value: math.MaxUint64}},
	}}}}
	sd, err := event.NewBTFDecoder(signed, event.BTFOptions{})
	require.NoError(t, err)
	out, err = sd.AppendJSON(nil, []byte{0xf0, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	require.Equal(t, `{"e":-16}`, string(out))
	out, err = sd.AppendJSON(nil, []byte{0xff, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	require.Equal(t, `{"e":"DOWN"}`, string(out))
}

func TestBTFDecoderWritesFloatsJSONCannotHold(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	f, err := d.Field("f64")
	require.NoError(t, err)
	for v, want := range map[float64]string{math.NaN(): `"NaN"`, math.Inf(1): `"+Inf"`, math.Inf(-1): `"-Inf"`} {
		rec := kindsRecord()
		binary.LittleEndian.PutUint64(rec[96:], math.Float64bits(v))
		out, err := f.AppendJSON(nil, rec)
		require.NoError(t, err)
		require.Equal(t, want, string(out))
		full, err := d.AppendJSON(nil, rec)
		require.NoError(t, err)
		require.True(t, json.Valid(full))
	}
}
