package ringbuf_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/stretchr/testify/require"

	"github.com/bpfstream/bpfstream/internal/testing/privileged"
	"github.com/bpfstream/bpfstream/ringbuf"
	"github.com/bpfstream/bpfstream/transport"
)

// TestOptionsErrorsNameFieldValueAndRange: every field of Options is checked
// by New and NewMulti, and the error names the field, the value given and
// what is allowed, with the sentinel once, at the end. Before, an unknown
// Backend and a negative Reorder.Window named no range.
func TestOptionsErrorsNameFieldValueAndRange(t *testing.T) {
	privileged.Require(t)
	rb, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: uint32(os.Getpagesize())})
	require.NoError(t, err)
	defer rb.Close()
	for _, tc := range []struct {
		opts  ringbuf.Options
		field string
		value string
	}{
		{ringbuf.Options{DrainInterval: -time.Second}, "Options.DrainInterval", "-1s"},
		{ringbuf.Options{Coalesce: -time.Second}, "Options.Coalesce", "-1s"},
		{ringbuf.Options{Coalesce: time.Microsecond}, "Options.Coalesce", "1µs"},
		{ringbuf.Options{Backend: 42}, "Options.Backend", "42"},
		{ringbuf.Options{Reorder: &transport.Reorder{}}, "Options.Reorder.Timestamp", "nil,"},
		{ringbuf.Options{Reorder: &transport.Reorder{Timestamp: func([]byte) (uint64, bool) { return 0, false }, Window: -time.Millisecond}}, "Options.Reorder.Window", "-1ms"},
	} {
		for name, open := range map[string]func() (*ringbuf.Consumer, error){
			"New":      func() (*ringbuf.Consumer, error) { return ringbuf.New(rb, tc.opts) },
			"NewMulti": func() (*ringbuf.Consumer, error) { return ringbuf.NewMulti([]*ebpf.Map{rb}, tc.opts) },
		} {
			c, err := open()
			if err == nil {
				c.Close()
			}
			require.ErrorIs(t, err, transport.ErrInvalidOptions, "%s: %s %s", name, tc.field, tc.value)
			msg := err.Error()
			require.Contains(t, msg, tc.field+" is "+tc.value, "the field and its value")
			require.Contains(t, msg, "want ", "the allowed range")
			require.Equal(t, 1, strings.Count(msg, transport.ErrInvalidOptions.Error()), "the sentinel once: %s", msg)
			require.True(t, strings.HasSuffix(msg, ": "+transport.ErrInvalidOptions.Error()), "the sentinel at the end: %s", msg)
		}
	}
}
