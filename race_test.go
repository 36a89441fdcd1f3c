//go:build race

package splice_test

const raceEnabled = true
