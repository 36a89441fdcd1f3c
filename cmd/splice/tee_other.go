//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

// raiseSIGPIPE does nothing where a broken pipe raises no signal: the output
// is then dropped as with SIGPIPE ignored.
func raiseSIGPIPE() {}
