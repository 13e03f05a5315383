package wakeup

import (
	"testing"

	"github.com/bpfstream/bpfstream/ringbuf"
)

func TestVarsAndValidate(t *testing.T) {
	for _, tc := range []struct {
		w            ringbuf.Wakeup
		threshold    int
		ok           bool
		flags, bytes uint64
	}{
		{ringbuf.WakeupAdaptive, 0, true, 0, 0},
		{ringbuf.WakeupNever, 0, true, rbNoWakeup, 0},
		{ringbuf.WakeupAlways, 0, true, rbForceWakeup, 0},
		{ringbuf.WakeupBytes, 4096, true, 0, 4096},
		{ringbuf.WakeupBytes, 0, false, 0, 0},
		{ringbuf.WakeupAdaptive, 10, false, 0, 0},
		{ringbuf.Wakeup(9), 0, false, 0, 0},
	} {
		err := tc.w.Validate(tc.threshold)
		if (err == nil) != tc.ok {
			t.Errorf("%v/%d: Validate = %v", tc.w, tc.threshold, err)
			continue
		}
		if !tc.ok {
			continue
		}
		vars := Policy(tc.w).Vars(tc.threshold)
		if vars["wakeup_flags"] != tc.flags || vars["wakeup_bytes"] != tc.bytes {
			t.Errorf("%v: vars %v", tc.w, vars)
		}
	}
	if !ringbuf.WakeupNever.NeedsTimer() || !ringbuf.WakeupBytes.NeedsTimer() || ringbuf.WakeupAdaptive.NeedsTimer() || ringbuf.WakeupAlways.NeedsTimer() {
		t.Error("NeedsTimer: only never and bytes skip wake-ups")
	}
	for _, p := range []struct {
		internal Policy
		public   ringbuf.Wakeup
	}{{Adaptive, ringbuf.WakeupAdaptive}, {Never, ringbuf.WakeupNever}, {Always, ringbuf.WakeupAlways}, {Bytes, ringbuf.WakeupBytes}} {
		if int(p.internal) != int(p.public) || p.internal.String() != p.public.String() {
			t.Errorf("Policy %d is ringbuf.Wakeup %d (%s)", p.internal, p.public, p.public)
		}
	}
	for w := ringbuf.WakeupAdaptive; w <= ringbuf.WakeupBytes; w++ {
		if got, err := ringbuf.ParseWakeup(w.String()); err != nil || got != w {
			t.Errorf("ParseWakeup(%q) = %v, %v", w, got, err)
		}
	}
	if _, err := ringbuf.ParseWakeup("sometimes"); err == nil {
		t.Error("ParseWakeup accepted an unknown name")
	}
}
