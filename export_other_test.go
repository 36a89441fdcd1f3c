//go:build !linux || splice_portable

package splice

// DrainPipePool is a no-op: only Linux pools pipes.
func DrainPipePool() {}
