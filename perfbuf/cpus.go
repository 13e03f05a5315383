package perfbuf

import (
	"os"
	"strconv"
	"strings"
)

// onlineCPUs counts the CPUs below max that are online, which are the ones
// that get a buffer. It falls back to max when sysfs cannot tell.
func onlineCPUs(max int) int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return max
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, found := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last := first
		var err2 error
		if found {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return max
		}
		for cpu := first; cpu <= last && cpu < max; cpu++ {
			n++
		}
	}
	return n
}
