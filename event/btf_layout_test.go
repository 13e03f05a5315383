package event_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/event"
	"github.com/bpfstream/bpfstream/transport"
)

func TestBTFDecoderCutsTheTrailingArrayOfAShortRecord(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	rec := kindsRecord()[:116+2] // tail (offset 116) holds 2 of its 6 bytes
	rec[116], rec[117] = 'o', 'k'
	out, err := d.AppendJSON(nil, rec)
	require.NoError(t, err)
	require.Contains(t, string(out), `"tail":"ok"}`)

	out, err = d.AppendJSON(nil, kindsRecord()[:116])
	require.NoError(t, err)
	require.Contains(t, string(out), `"tail":""}`)

	sized := btfDecoder(t, "sized", event.BTFOptions{})
	out, err = sized.AppendJSON(nil, []byte{3, 0, 1, 0, 9, 8, 7})
	require.NoError(t, err)
	require.Equal(t, `{"len":3,"kind":1,"data":[9,8,7]}`, string(out))
	require.Zero(t, d.Errors()+sized.Errors())
}

func TestBTFDecoderRefusesAShortRecordWithoutTrailingArray(t *testing.T) {
	d := btfDecoder(t, "small", event.BTFOptions{})
	_, err := d.AppendJSON(nil, make([]byte, 13))
	require.ErrorIs(t, err, event.ErrShortSample)
	var le *event.LayoutError
	require.ErrorAs(t, err, &le)
	require.Equal(t, "struct small", le.Type)
	require.Equal(t, "tid", le.Field) // byte 13 is inside tid (offset 12)
	require.Equal(t, 12, le.Offset)
	require.Equal(t, "event: struct small: field tid at offset 12: record of 13 bytes ends inside it, the type has 24: event: short sample", err.Error())
	require.EqualValues(t, 1, d.Errors())

	k := btfDecoder(t, "kinds", event.BTFOptions{})
	_, err = k.AppendJSON(nil, kindsRecord()[:110]) // ends inside words, before tail
	require.ErrorIs(t, err, event.ErrShortSample)
	require.ErrorAs(t, err, &le)
	require.Equal(t, "words", le.Field)
}

func TestBTFDecoderRefusesARecordLongerThanTheTransportPads(t *testing.T) {
	for _, tc := range []struct {
		kind      transport.Kind
		ok, wrong int
	}{
		{transport.KindRingbuf, 24, 25},
		{transport.KindPerfbuf, 24 + 7, 24 + 8},
		{transport.KindUnknown, 24 + 7, 24 + 8},
	} {
		d := btfDecoder(t, "small", event.BTFOptions{Transport: tc.kind})
		_, err := d.AppendJSON(nil, make([]byte, tc.ok))
		require.NoError(t, err, tc.kind)
		_, err = d.AppendJSON(nil, make([]byte, tc.wrong))
		require.ErrorIs(t, err, event.ErrSampleSize, tc.kind)
		require.EqualValues(t, 1, d.Errors())
	}
}

func TestBTFDecoderGivesAFlexibleArrayEveryByteLeft(t *testing.T) {
	d := btfDecoder(t, "flex", event.BTFOptions{Transport: transport.KindRingbuf})
	require.Equal(t, 8, d.Size())
	out, err := d.AppendJSON(nil, append([]byte{5, 0, 0, 0, 0, 0, 0, 0}, "hello world, longer than padding"...))
	require.NoError(t, err)
	require.Equal(t, `{"len":5,"pad":0,"data":"hello world, longer than padding"}`, string(out))
}

func TestBTFDecoderEndsTheVariableAreaWhereALengthFieldSays(t *testing.T) {
	rec := []byte{3, 0, 1, 0, 9, 8, 7, 6, 5, 0, 0, 0, 0, 0, 0, 0} // len 3, then a full data array
	d := btfDecoder(t, "sized", event.BTFOptions{Tail: event.LengthTail("len")})
	out, err := d.AppendJSON(nil, rec)
	require.NoError(t, err)
	require.Equal(t, `{"len":3,"kind":1,"data":[9,8,7]}`, string(out))

	s := btfDecoder(t, "sized", event.BTFOptions{Tail: event.SizeTail("len")})
	out, err = s.AppendJSON(nil, rec) // a 3-byte record ends inside kind
	require.ErrorIs(t, err, event.ErrShortSample)
	require.Nil(t, out)
	binary.LittleEndian.PutUint16(rec, 6)
	out, err = s.AppendJSON(nil, rec)
	require.NoError(t, err)
	require.Equal(t, `{"len":6,"kind":1,"data":[9,8]}`, string(out))

	binary.LittleEndian.PutUint16(rec, 200)
	_, err = d.AppendJSON(nil, rec)
	require.ErrorIs(t, err, event.ErrTailLength)
	require.EqualError(t, err, "event: struct sized: field len at offset 0: declares a record of 204 bytes, the record has 16: event: inconsistent tail length")
}

func TestNewBTFDecoderRefusesBadTails(t *testing.T) {
	_, err := event.NewBTFDecoder(btfType(t, "small"), event.BTFOptions{Tail: event.LengthTail("pid")})
	require.ErrorIs(t, err, transport.ErrInvalidOptions)
	_, err = event.NewBTFDecoder(btfType(t, "sized"), event.BTFOptions{Tail: event.LengthTail("nope")})
	require.ErrorIs(t, err, event.ErrUnsupportedType)
	require.ErrorContains(t, err, "members: len, kind, data")
	_, err = event.NewBTFDecoder(btfType(t, "sized"), event.BTFOptions{Tail: event.LengthTail("data")})
	require.ErrorIs(t, err, event.ErrUnsupportedType)
}

func TestNewBTFDecoderNamesTheUnsupportedMember(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	for _, tc := range []struct {
		member btf.Type
		want   string
	}{
		{&btf.FuncProto{Return: u32}, "a function"},
		{&btf.Fwd{Name: "opaque"}, "an incomplete (forward-declared) type"},
		{&btf.Float{Name: "long double", Size: 16}, "float of 16 bytes"},
		{&btf.Int{Name: "u24", Size: 3}, "integer of 3 bytes"},
		{&btf.Array{Type: &btf.Fwd{Name: "opaque"}, Nelems: 2}, "array element"},
	} {
		s := &btf.Struct{Name: "ev", Size: 32, Members: []btf.Member{
			{Name: "a", Type: u32},
			{Name: "inner", Type: &btf.Struct{Name: "in", Size: 16, Members: []btf.Member{{Name: "bad", Type: tc.member, Offset: 64}}}, Offset: 64},
		}}
		_, err := event.NewBTFDecoder(s, event.BTFOptions{})
		require.ErrorIs(t, err, event.ErrUnsupportedType, tc.want)
		var le *event.LayoutError
		require.ErrorAs(t, err, &le)
		require.Equal(t, "struct ev", le.Type)
		require.Contains(t, le.Field, "inner.bad")
		require.Equal(t, 16, le.Offset)
		require.Contains(t, err.Error(), tc.want)
	}
	_, err := event.NewBTFDecoder(u32, event.BTFOptions{})
	require.ErrorIs(t, err, event.ErrUnsupportedType)
	require.EqualError(t, err, "event: u32: not a struct or union: event: type has no fixed layout")
}

func TestNewBTFDecoderSurvivesCyclicTypes(t *testing.T) {
	s := &btf.Struct{Name: "node", Size: 16}
	s.Members = []btf.Member{{Name: "next", Type: &btf.Pointer{Target: s}}, {Name: "v", Type: &btf.Int{Name: "u64", Size: 8}, Offset: 64}}
	d, err := event.NewBTFDecoder(s, event.BTFOptions{})
	require.NoError(t, err)
	out, err := d.AppendJSON(nil, []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0})
	require.NoError(t, err)
	require.Equal(t, `{"next":1,"v":2}`, string(out))

	// A struct holding itself by value is not valid C, but BTF can say it.
	self := &btf.Struct{Name: "self", Size: 8}
	self.Members = []btf.Member{{Name: "me", Type: self}}
	_, err = event.NewBTFDecoder(self, event.BTFOptions{})
	require.True(t, errors.Is(err, event.ErrUnsupportedType), err)
}

func TestNewBTFDecoderRefusesMembersBeyondTheirType(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	for _, m := range []btf.Member{
		{Name: "far", Type: u32, Offset: 8 * 8},
		{Name: "arr", Type: &btf.Array{Type: u32, Nelems: 4}, Offset: 4 * 8},
		{Name: "flex", Type: &btf.Array{Type: u32}, Offset: 12 * 8},
	} {
		s := &btf.Struct{Name: "ev", Size: 8, Members: []btf.Member{{Name: "a", Type: u32}, m}}
		_, err := event.NewBTFDecoder(s, event.BTFOptions{})
		require.ErrorIs(t, err, event.ErrUnsupportedType, m.Name)
		require.ErrorContains(t, err, "field "+m.Name)
	}
}

func TestBTFDecoderCutsNoArrayThatOtherMembersFollow(t *testing.T) {
	u32 := &btf.Int{Name: "u32", Size: 4}
	// The array is the last member listed but not the last in memory.
	s := &btf.Struct{Name: "ev", Size: 12, Members: []btf.Member{
		{Name: "b", Type: u32, Offset: 8 * 8},
		{Name: "arr", Type: &btf.Array{Type: u32, Nelems: 2}},
	}}
	d, err := event.NewBTFDecoder(s, event.BTFOptions{})
	require.NoError(t, err)
	_, err = d.AppendJSON(nil, make([]byte, 4))
	require.ErrorIs(t, err, event.ErrShortSample)
	u := &btf.Union{Name: "u", Size: 8, Members: []btf.Member{
		{Name: "x", Type: &btf.Int{Name: "u64", Size: 8}},
		{Name: "arr", Type: &btf.Array{Type: u32, Nelems: 2}},
	}}
	d, err = event.NewBTFDecoder(u, event.BTFOptions{})
	require.NoError(t, err)
	_, err = d.AppendJSON(nil, make([]byte, 4))
	require.ErrorIs(t, err, event.ErrShortSample)
}
