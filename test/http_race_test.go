//go:build race

package test

// raceEnabled says whether the race detector is on, for tests whose work it
// slows too much to run whole.
const raceEnabled = true
