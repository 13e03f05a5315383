package perfbuf

import (
	"os"
	"strconv"
	"strings"
)

// onlinePath lists the online CPUs, as "0-3,6".
const onlinePath = "/sys/devices/system/cpu/online"

// onlineCPUs counts the CPUs below max that are online, which are the ones
// that get a buffer. It falls back to max when sysfs cannot tell.
func onlineCPUs(max int) int {
	n := 0
	ok := eachOnline(readOnline(), max, func(int) { n++ })
	if !ok {
		return max
	}
	return n
}

// cpuSlots is the length of Stats.LostPerCPU for a map of max slots: one
// past the highest online CPU below max, the last that gets a buffer. A
// system may declare many more possible CPUs than it has (hot-plug slots of
// a virtual machine), and cilium/ebpf sizes perf event arrays by those: one
// loss counter per slot would export a series per CPU that cannot exist.
// It falls back to max when sysfs cannot tell.
func cpuSlots(online string, max int) int {
	n := 0
	if !eachOnline(online, max, func(cpu int) { n = cpu + 1 }) {
		return max
	}
	return n
}

func readOnline() string {
	b, err := os.ReadFile(onlinePath)
	if err != nil {
		return ""
	}
	return string(b)
}

// eachOnline calls f for each CPU below max in the list online, and reports
// whether the list could be parsed.
func eachOnline(online string, max int, f func(cpu int)) bool {
	online = strings.TrimSpace(online)
	if online == "" {
		return false
	}
	for _, part := range strings.Split(online, ",") {
		lo, hi, found := strings.Cut(part, "-")
		first, err1 := strconv.Atoi(lo)
		last := first
		var err2 error
		if found {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return false
		}
		for cpu := first; cpu <= last && cpu < max; cpu++ {
			f(cpu)
		}
	}
	return true
}
