package perfbuf

import (
	"os"
	"strconv"
	"strings"
)

// onlineCPUs counts the CPUs below max that are online, which are the ones
// that get a buffer.
func onlineCPUs(max int) int { return len(onlineCPUList(max)) }

// onlineCPUList lists the CPUs below max that are online. It falls back to
// every CPU below max when sysfs cannot tell.
func onlineCPUList(max int) []int {
	all := make([]int, max)
	for i := range all {
		all[i] = i
	}
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return all
	}
	var cpus []int
	for _, part := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, found := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last := first
		var err2 error
		if found {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return all
		}
		for cpu := first; cpu <= last && cpu < max; cpu++ {
			cpus = append(cpus, cpu)
		}
	}
	return cpus
}
