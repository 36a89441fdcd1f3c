package splice

// Unexported pieces that the external tests check directly.
var (
	RoundPipeSize   = roundPipeSize
	ClampPipeSize   = clampPipeSize
	DefaultPipeSize = defaultPipeSize
	ReadMaxPipeSize = readMaxPipeSize
)
