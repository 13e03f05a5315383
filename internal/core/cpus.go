package core

import (
	"os"
	"strconv"
	"strings"
)

// onlinePath lists the online CPUs, as "0-3,6".
const onlinePath = "/sys/devices/system/cpu/online"

// ReadOnline returns the list of online CPUs, "" when it cannot be read.
func ReadOnline() string {
	b, err := os.ReadFile(onlinePath)
	if err != nil {
		return ""
	}
	return string(b)
}

// EachOnline calls f for each CPU below max in online, a list as ReadOnline
// returns it, and reports whether the list could be parsed.
func EachOnline(online string, max int, f func(cpu int)) bool {
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
