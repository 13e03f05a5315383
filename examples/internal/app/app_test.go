package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bpfstream/bpfstream/bpf"
)

func TestRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want int
		msg  string
	}{
		{[]string{"-h"}, 0, "usage: execsnoop"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-transport", "kprobe"}, 2, "unknown program"},
		{[]string{"extra"}, 2, "unexpected arguments"},
		{[]string{"-duration", "-1s"}, 2, "negative -duration"},
	} {
		var stdout, stderr bytes.Buffer
		if got := Run("execsnoop", bpf.Auto, true, tc.args, &stdout, &stderr); got != tc.want {
			t.Errorf("%v: status %d, want %d", tc.args, got, tc.want)
		}
		if !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: stderr %q, want %q", tc.args, stderr.String(), tc.msg)
		}
	}
	var stderr bytes.Buffer
	if got := Run("perfbuf-output", bpf.PerfbufOutput, false, []string{"-transport", "auto"}, &bytes.Buffer{}, &stderr); got != 2 {
		t.Errorf("-transport on a fixed example: status %d", got)
	}
}
