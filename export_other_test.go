//go:build !linux

package splice

// DrainPipePool is a no-op: only Linux pools pipes.
func DrainPipePool() {}
