package event_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/event"
)

func TestBTFFieldReadsOneMemberByPath(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	rec := kindsRecord()
	for path, want := range map[string]int64{"i8": -128, "u32": 0xffffffff, "u.word": 0x01020304, "anon_b": -1, "neg": -3, "level": 5, "ok": 1, "color": 7} {
		f, err := d.Field(path)
		require.NoError(t, err, path)
		got, err := f.Int(rec)
		require.NoError(t, err, path)
		require.Equal(t, want, got, path)
	}
	f, err := d.Field("u.word")
	require.NoError(t, err)
	require.Equal(t, 64, f.Offset())
	require.Equal(t, "u.word", f.Path())

	name, err := d.Field("name")
	require.NoError(t, err)
	b, err := name.Bytes(rec)
	require.NoError(t, err)
	require.Equal(t, "bash", string(b))
	_, err = name.Int(rec)
	require.ErrorIs(t, err, event.ErrUnsupportedType)

	tail, err := d.Field("tail")
	require.NoError(t, err)
	text, err := tail.AppendText(nil, rec)
	require.NoError(t, err)
	require.Equal(t, `t"\\x0a\xff`, string(text))
	color, err := d.Field("color")
	require.NoError(t, err)
	text, err = color.AppendText(nil, rec)
	require.NoError(t, err)
	require.Equal(t, "BLUE", string(text))
}

func TestBTFFieldRefusesRecordsThatDoNotHoldIt(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	f, err := d.Field("q")
	require.NoError(t, err)
	_, err = f.Uint(kindsRecord()[:50])
	require.ErrorIs(t, err, event.ErrShortSample)
	tail, err := d.Field("tail")
	require.NoError(t, err)
	b, err := tail.Bytes(kindsRecord()[:118])
	require.NoError(t, err)
	require.Equal(t, `t"`, string(b))
	require.Zero(t, d.Errors(), "field reads are not counted")
}

func TestBTFDecoderFieldListsTheMembersOfAnUnknownPath(t *testing.T) {
	d := btfDecoder(t, "small", event.BTFOptions{})
	_, err := d.Field("task.pid")
	require.ErrorIs(t, err, event.ErrUnsupportedType)
	require.EqualError(t, err, `event: struct small: field task.pid at offset 0: no member "task" (members: ts, pid, tid, ret, cpu, kind, ok): event: type has no fixed layout`)
	_, err = d.Field("pid.x")
	require.ErrorContains(t, err, "pid is not a struct or union")
}

func TestBTFDecoderFieldsListsTheLeaves(t *testing.T) {
	d := btfDecoder(t, "kinds", event.BTFOptions{})
	require.Equal(t, []string{"i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "ok", "color", "delta", "name", "addrs",
		"u.word", "u.bytes", "anon_a", "anon_b", "flag", "level", "neg", "shade", "ptr", "f32", "f64", "q", "words", "tail"}, d.Fields())
}
