//go:build !race

package transporttest

// raceEnabled reports whether the race detector is on; it changes allocation
// counts.
const raceEnabled = false
