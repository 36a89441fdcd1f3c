//go:build !race

package splice_test

const raceEnabled = false
