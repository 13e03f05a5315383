package transporttest

// RaceEnabled tells the tests whether subtests that only fail under the race
// detector can fail.
const RaceEnabled = raceEnabled
