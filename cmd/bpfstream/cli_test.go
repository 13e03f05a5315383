package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"
)

func TestHelpWarnsThatTailTakesOverPerfBuffers(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Zero(t, Main([]string{"help"}, &out, &errOut))
	require.Contains(t, out.String(), "which tail replaces with its own")
	require.Contains(t, out.String(), "A ring buffer has one consumer position")
	require.Equal(t, 2, Main(nil, &out, &errOut))
	require.Equal(t, 2, Main([]string{"follow"}, &out, &errOut))
	require.Contains(t, errOut.String(), `unknown command "follow"`)
}

func TestFlagsMayFollowThePositionalArgument(t *testing.T) {
	var errOut bytes.Buffer
	o, pos, status := parse("run", "OBJECT.o", []string{"obj.o", "-type", "event", "-n", "3", "-set", "a=1", "-o", "text"}, &errOut)
	require.Equal(t, -1, status, errOut.String())
	require.Equal(t, "obj.o", pos)
	require.Equal(t, "event", o.typeName)
	require.EqualValues(t, 3, o.count)
	require.Equal(t, setFlags{"a=1"}, o.sets)
	require.Equal(t, "text", o.output)
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "want one OBJECT.o, got 0 arguments"},
		{[]string{"run", "a.o", "b.o"}, "want one OBJECT.o, got 2 arguments"},
		{[]string{"run", "a.o", "-o", "yaml"}, `-o "yaml": want json, text or hex`},
		{[]string{"tail", "id:1", "-o", "text"}, "-o text needs -type"},
		{[]string{"tail", "id:1", "-for", "-1s"}, "negative -for"},
		{[]string{"run", "a.o", "-set", "novalue"}, "want NAME=VALUE"},
		{[]string{"tail", "id:1", "-set", "a=1"}, "flag provided but not defined: -set"},
	} {
		var out, errOut bytes.Buffer
		require.Equal(t, 2, Main(tc.args, &out, &errOut), tc.args)
		require.Contains(t, errOut.String(), tc.want, tc.args)
	}
}

func TestRunRefusesUnknownConstantsAndMaps(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 2, Main([]string{"run", btfobj + "opensnoop.o", "-set", "nope=1"}, &out, &errOut))
	require.Contains(t, errOut.String(), `no constant "nope" in the object`)
	errOut.Reset()
	require.Equal(t, 2, Main([]string{"run", btfobj + "opensnoop.o", "-set", "targ_pid=-1"}, &out, &errOut))
	require.Contains(t, errOut.String(), "invalid syntax")
	errOut.Reset()
	require.Equal(t, 2, Main([]string{"run", btfobj + "execsnoop.o", "-map", "heap"}, &out, &errOut))
	require.Contains(t, errOut.String(), "map heap is a PerCPUArray, not a ring buffer or a perf event array")
	errOut.Reset()
	require.Equal(t, 2, Main([]string{"run", btfobj + "execsnoop.o", "-type", "nope"}, &out, &errOut))
	require.Contains(t, errOut.String(), `no struct "nope" in ../../internal/testing/btfobj/execsnoop.o; structs found: `)
	require.Contains(t, errOut.String(), "exec_event")
}

func TestPickMapWantsOneRingOrPerfMap(t *testing.T) {
	spec := &ebpf.CollectionSpec{Maps: map[string]*ebpf.MapSpec{
		"a": {Type: ebpf.RingBuf}, "b": {Type: ebpf.PerfEventArray}, "h": {Type: ebpf.Hash},
	}}
	_, err := pickMap(spec, "")
	require.EqualError(t, err, "several ring and perf maps (a, b): choose one with -map")
	name, err := pickMap(spec, "b")
	require.NoError(t, err)
	require.Equal(t, "b", name)
	_, err = pickMap(spec, "x")
	require.EqualError(t, err, `no map "x" (ring and perf maps: a, b)`)
	delete(spec.Maps, "a")
	delete(spec.Maps, "b")
	_, err = pickMap(spec, "")
	require.EqualError(t, err, "no ring buffer or perf event array")
}

func TestEncodeValueParsesByType(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec(btfobj + "opensnoop.o")
	require.NoError(t, err)
	v := spec.Variables["targ_pid"]
	b, err := encodeValue(v.Type, int(v.Size()), "0x10")
	require.NoError(t, err)
	require.Equal(t, []byte{16, 0, 0, 0}, b)
	_, err = encodeValue(v.Type, int(v.Size()), "4294967296")
	require.ErrorContains(t, err, "out of range")
	require.True(t, strings.HasPrefix(v.SectionName, ".rodata"))
}

func TestMetricsFlagServesTheConsumersMetrics(t *testing.T) {
	requirePrivileged(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	var body string
	scrape := func() {
		execTrue()
		if body != "" {
			return
		}
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
	}
	status, _, errOut := runWhile(t, scrape, "run", "../../bpf/ringbufreservesubmit_bpfel.o", "-n", "30", "-for", "30s", "-metrics", addr)
	require.Zero(t, status, errOut)
	require.Contains(t, errOut, "metrics on http://"+addr+"/metrics")
	require.Contains(t, body, `bpfstream_records_total{consumer="rb",transport="ringbuf"}`)
}
