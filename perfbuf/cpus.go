package perfbuf

import "github.com/bpfstream/bpfstream/internal/core"

// onlineCPUs lists the CPUs below max in online (a list as core.ReadOnline
// returns it): the CPUs that get a buffer. It falls back to every CPU below
// max when the list cannot be read or parsed.
func onlineCPUs(online string, max int) []int {
	var cpus []int
	if !core.EachOnline(online, max, func(cpu int) { cpus = append(cpus, cpu) }) {
		cpus = make([]int, max)
		for i := range cpus {
			cpus[i] = i
		}
	}
	return cpus
}

// cpuSlots is the length of Stats.LostPerCPU for a consumer of cpus: one
// past the last of them (onlineCPUs lists them in order). A system may
// declare many more possible CPUs than it has (hot-plug slots of a virtual
// machine), and cilium/ebpf sizes perf event arrays by those: one loss
// counter per slot would export a series per CPU that cannot exist.
func cpuSlots(cpus []int) int {
	if len(cpus) == 0 {
		return 0
	}
	return cpus[len(cpus)-1] + 1
}
