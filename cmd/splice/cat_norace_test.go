//go:build !race

package main

// catRace is whether the tests run under the race detector, which skips the
// largest sizes.
const catRace = false
