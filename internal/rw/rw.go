// Package rw is one round of io.Copy's read/write loop, shared by the fallback
// engine and the splice engine's small-chunk path so that both count bytes and
// report errors exactly as io.Copy does.
package rw

import (
	"errors"
	"io"
)

// ErrInvalidWrite matches the message of io's unexported error of the same name,
// returned when a Writer reports more bytes written than it was given, or fewer
// than none.
var ErrInvalidWrite = errors.New("invalid write result")

// Step reads once from src into buf and writes what it read to dst, as one
// round of io.Copy. nr is what src gave, nw what dst accepted; werr is dst's
// error (io.ErrShortWrite if it accepted less without one, ErrInvalidWrite if
// it reported an impossible count, which then counts as 0), and when it is set
// buf[nw:nr] holds the bytes read but not written. rerr is src's error, io.EOF
// included; a copy ends on werr first, then on rerr.
func Step(dst io.Writer, src io.Reader, buf []byte) (nr, nw int, rerr, werr error) {
	nr, rerr = src.Read(buf)
	if nr <= 0 {
		return 0, 0, rerr, nil
	}
	nw, werr = dst.Write(buf[:nr])
	if nw < 0 || nw > nr {
		nw = 0
		if werr == nil {
			werr = ErrInvalidWrite
		}
	}
	if werr == nil && nw != nr {
		werr = io.ErrShortWrite
	}
	return nr, nw, rerr, werr
}
