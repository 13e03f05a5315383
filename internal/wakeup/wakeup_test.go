package wakeup

import (
	"errors"
	"testing"

	"github.com/bpfstream/bpfstream/transport"
)

func TestVarsAndValidate(t *testing.T) {
	for _, tc := range []struct {
		p            Policy
		threshold    int
		ok           bool
		flags, bytes uint64
	}{
		{Adaptive, 0, true, 0, 0},
		{Never, 0, true, rbNoWakeup, 0},
		{Always, 0, true, rbForceWakeup, 0},
		{Bytes, 4096, true, 0, 4096},
		{Bytes, 0, false, 0, 0},
		{Adaptive, 10, false, 0, 0},
		{Policy(9), 0, false, 0, 0},
	} {
		err := tc.p.Validate(tc.threshold)
		if (err == nil) != tc.ok {
			t.Errorf("%v/%d: Validate = %v", tc.p, tc.threshold, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, transport.ErrInvalidOptions) {
				t.Errorf("%v/%d: %v does not match ErrInvalidOptions", tc.p, tc.threshold, err)
			}
			continue
		}
		vars := tc.p.Vars(tc.threshold)
		if vars["wakeup_flags"] != tc.flags || vars["wakeup_bytes"] != tc.bytes {
			t.Errorf("%v: vars %v", tc.p, vars)
		}
	}
	if !Never.NeedsTimer() || !Bytes.NeedsTimer() || Adaptive.NeedsTimer() || Always.NeedsTimer() {
		t.Error("NeedsTimer: only never and bytes skip wake-ups")
	}
	for p := Adaptive; p <= Bytes; p++ {
		if got, err := Parse(p.String()); err != nil || got != p {
			t.Errorf("Parse(%q) = %v, %v", p, got, err)
		}
	}
	if _, err := Parse("sometimes"); !errors.Is(err, transport.ErrInvalidOptions) {
		t.Errorf("Parse of an unknown name: %v", err)
	}
	if s := Policy(9).String(); s != "Wakeup(9)" {
		t.Errorf("String of an unknown policy: %q", s)
	}
}
