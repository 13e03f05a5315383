package main

import (
	"bufio"
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/transport"
)

func smallDecoderType(t *testing.T) btf.Type {
	spec, err := btf.LoadSpec(btfobj + "kinds.o")
	require.NoError(t, err)
	typ, err := findType("small", []*btf.Spec{spec}, "kinds.o")
	require.NoError(t, err)
	return typ
}

func printAll(t *testing.T, p printer, recs ...transport.Record) string {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	p.header(w)
	for _, r := range recs {
		require.NoError(t, p.print(w, r))
	}
	require.NoError(t, w.Flush())
	return out.String()
}

func TestJSONOutputAddsTheCPUWithoutHidingAMember(t *testing.T) {
	dec, err := newDecoder(smallDecoderType(t), ebpf.PerfEventArray)
	require.NoError(t, err)
	p, err := newPrinter("json", dec)
	require.NoError(t, err)
	rec := make([]byte, 24)
	rec[20] = 7 // the record's own cpu member
	out := printAll(t, p, transport.Record{Sample: rec, CPU: 3}, transport.Record{Sample: rec, CPU: transport.NoCPU})
	require.Equal(t, `{"_cpu":3,"ts":0,"pid":0,"tid":0,"ret":0,"cpu":7,"kind":0,"ok":false}`+"\n"+
		`{"ts":0,"pid":0,"tid":0,"ret":0,"cpu":7,"kind":0,"ok":false}`+"\n", out)

	require.Error(t, p.print(bufio.NewWriter(&bytes.Buffer{}), transport.Record{Sample: rec[:3]}), "a short record is a decode error")
	require.EqualValues(t, 1, dec.Errors())
}

func TestOutputsWithoutType(t *testing.T) {
	p, err := newPrinter("json", nil)
	require.NoError(t, err)
	require.Equal(t, `{"cpu":1,"len":3,"data":"0a0b0c"}`+"\n", printAll(t, p, transport.Record{Sample: []byte{10, 11, 12}, CPU: 1}))
	p, err = newPrinter("hex", nil)
	require.NoError(t, err)
	require.Equal(t, "3 bytes:\n00000000  0a 0b 0c                                          |...|\n",
		printAll(t, p, transport.Record{Sample: []byte{10, 11, 12}, CPU: transport.NoCPU}))
}

func TestTextOutputShowsTheVariableAreaAsFarAsTheRecordGoes(t *testing.T) {
	spec, err := btf.LoadSpec(btfobj + "execsnoop.o")
	require.NoError(t, err)
	typ, err := findType("exec_event", []*btf.Spec{spec}, "execsnoop.o")
	require.NoError(t, err)
	dec, err := newDecoder(typ, ebpf.RingBuf)
	require.NoError(t, err)
	p, err := newPrinter("text", dec)
	require.NoError(t, err)
	rec := make([]byte, 32+3)
	rec[0] = 9
	copy(rec[16:], "sh")
	copy(rec[32:], "ab\x00")
	lines := strings.Split(printAll(t, p, transport.Record{Sample: rec, CPU: transport.NoCPU}), "\n")
	require.Equal(t, "pid        uid        args_count args_size  comm             args", lines[0])
	require.Equal(t, "9          0          0          0          sh               ab", lines[1])
}

func TestLossesAreReportedAsTheyAreCounted(t *testing.T) {
	var mu sync.Mutex
	lost := uint64(0)
	stats := func() transport.Stats {
		mu.Lock()
		defer mu.Unlock()
		return transport.Stats{Lost: lost, LostKnown: true}
	}
	var errOut syncBuffer
	stop := reportLosses(&errOut, "pb", stats)
	mu.Lock()
	lost = 5
	mu.Unlock()
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "pb: 5 records lost (5 in all)") }, 10*time.Second, 10*time.Millisecond)
	mu.Lock()
	lost = 7
	mu.Unlock()
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "pb: 2 records lost (7 in all)") }, 10*time.Second, 10*time.Millisecond)
	stop()
	stop()
}
