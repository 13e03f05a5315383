package perfbuf

import "testing"

// TestCPUSlotsFollowOnlineCPUs: LostPerCPU is sized by the CPUs that are
// online, not by the map's slots, which cilium/ebpf sizes by the possible
// CPUs (a virtual machine may declare 64 hot-plug slots and have 2 CPUs).
func TestCPUSlotsFollowOnlineCPUs(t *testing.T) {
	for _, tc := range []struct {
		online string
		max    int
		want   int
	}{
		{"0-1\n", 64, 2},
		{"0-3,6\n", 64, 7},
		{"0-63\n", 8, 8},
		{"0,2-3\n", 64, 4},
		{"", 16, 16},      // sysfs unreadable
		{"0-x\n", 16, 16}, // nor parsable
	} {
		if got := cpuSlots(onlineCPUs(tc.online, tc.max)); got != tc.want {
			t.Errorf("cpuSlots(%q, %d) = %d, want %d", tc.online, tc.max, got, tc.want)
		}
	}
}
