package perfbuf_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/perfbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOptionsErrorsNameFieldValueAndRange: every field of Options is checked
// by New, and the error names the field, the value given and what is
// allowed, with the sentinel once, at the end. Before, a negative
// WakeupEvents said "negative WakeupEvents, WakeupBytes or DrainInterval"
// without the value, and an unknown Backend named no range.
func TestOptionsErrorsNameFieldValueAndRange(t *testing.T) {
	privileged.Require(t)
	pb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.PerfEventArray})
	require.NoError(t, err)
	defer pb.Close()
	page := os.Getpagesize()
	for _, tc := range []struct {
		opts  perfbuf.Options
		field string
		value string
	}{
		{perfbuf.Options{PerCPUBytes: -1}, "Options.PerCPUBytes", "-1"},
		{perfbuf.Options{PerCPUBytes: 1 << 40}, "Options.PerCPUBytes", "1099511627776"},
		{perfbuf.Options{WakeupEvents: -3}, "Options.WakeupEvents", "-3"},
		{perfbuf.Options{PerCPUBytes: page, WakeupEvents: page}, "Options.WakeupEvents", "4096"},
		{perfbuf.Options{WakeupBytes: -2}, "Options.WakeupBytes", "-2"},
		{perfbuf.Options{PerCPUBytes: page, WakeupBytes: page}, "Options.WakeupBytes", "4096"},
		{perfbuf.Options{DrainInterval: -time.Second}, "Options.DrainInterval", "-1s"},
		{perfbuf.Options{MaxSampleBytes: -7}, "Options.MaxSampleBytes", "-7"},
		{perfbuf.Options{MaxSampleBytes: 1 << 20, PerCPUBytes: 1 << 24}, "Options.MaxSampleBytes", "1048576"},
		{perfbuf.Options{PerCPUBytes: page, MaxSampleBytes: page}, "Options.PerCPUBytes", "4096"},
		{perfbuf.Options{Backend: 42}, "Options.Backend", "42"},
		{perfbuf.Options{Reorder: &transport.Reorder{}}, "Options.Reorder.Timestamp", "nil,"},
		{perfbuf.Options{Reorder: &transport.Reorder{Timestamp: func([]byte) (uint64, bool) { return 0, false }, Window: -time.Millisecond}}, "Options.Reorder.Window", "-1ms"},
	} {
		c, err := perfbuf.New(pb, tc.opts)
		if err == nil {
			c.Close()
		}
		require.ErrorIs(t, err, transport.ErrInvalidOptions, "%s %s", tc.field, tc.value)
		msg := err.Error()
		require.Contains(t, msg, tc.field+" is "+tc.value, "the field and its value")
		require.Contains(t, msg, "want ", "the allowed range")
		require.Equal(t, 1, strings.Count(msg, transport.ErrInvalidOptions.Error()), "the sentinel once: %s", msg)
		require.True(t, strings.HasSuffix(msg, ": "+transport.ErrInvalidOptions.Error()), "the sentinel at the end: %s", msg)
	}
}
