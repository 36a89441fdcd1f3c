//go:build !unix

package main

import "time"

// processCPU is unknown here: the table shows "-".
func processCPU() (time.Duration, bool) { return 0, false }

// kernelRelease is unknown here.
func kernelRelease() string { return "" }
