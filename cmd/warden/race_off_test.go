//go:build !race

package main

// raceEnabled reports whether the race detector is on (it slows every process several times).
const raceEnabled = false
