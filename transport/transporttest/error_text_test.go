package transporttest_test

import (
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
	"github.com/bpfstream/bpfstream/transport/transporttest"
)

// TestErrorsEndWithTheirSentinel: the errors of the Checker and of
// ParseSampleHeader say what is wrong first and end with their sentinel,
// once (before, the sentinel came first: "transporttest: sample delivered
// twice: seq 0", and a short sample also named the internal producer).
func TestErrorsEndWithTheirSentinel(t *testing.T) {
	var c transporttest.Checker
	_ = c.Add(rec(t, 0, 1, 1))
	for _, tc := range []struct {
		err      error
		sentinel error
	}{
		{c.Add(rec(t, 0, 1, 1)), transporttest.ErrDuplicate},
		{c.Add(rec(t, 1, 1, 2)), transporttest.ErrMalformed},
		{c.Add(transport.Record{Sample: []byte{1, 2, 3}}), transporttest.ErrMalformed},
		{c.Check(9, 0), transporttest.ErrMissing},
	} {
		msg := tc.err.Error()
		if last := msg[strings.LastIndex(msg, "\n")+1:]; !strings.HasSuffix(last, ": "+tc.sentinel.Error()) {
			t.Errorf("%q does not end with %q", msg, tc.sentinel)
		}
		if strings.Contains(strings.ReplaceAll(msg, "kernel producer: ", ""), "producer: ") {
			t.Errorf("%q names the internal producer", msg)
		}
	}
}
