package perfbuf

import "github.com/bpfstream/bpfstream/internal/core"

// onlineCPUs counts the CPUs below max that are online, which are the ones
// that get a buffer. It falls back to max when sysfs cannot tell.
func onlineCPUs(max int) int { return len(onlineCPUList(max)) }

// onlineCPUList lists the CPUs below max that are online. It falls back to
// every CPU below max when sysfs cannot tell.
func onlineCPUList(max int) []int {
	var cpus []int
	if !core.EachOnline(core.ReadOnline(), max, func(cpu int) { cpus = append(cpus, cpu) }) {
		cpus = make([]int, max)
		for i := range cpus {
			cpus[i] = i
		}
	}
	return cpus
}

// cpuSlots is the length of Stats.LostPerCPU for a map of max slots: one
// past the highest online CPU below max, the last that gets a buffer. A
// system may declare many more possible CPUs than it has (hot-plug slots of
// a virtual machine), and cilium/ebpf sizes perf event arrays by those: one
// loss counter per slot would export a series per CPU that cannot exist.
// It falls back to max when sysfs cannot tell.
func cpuSlots(online string, max int) int {
	n := 0
	if !core.EachOnline(online, max, func(cpu int) { n = cpu + 1 }) {
		return max
	}
	return n
}
