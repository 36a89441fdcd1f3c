package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	splicekit "github.com/splicekit/splice"
)

func init() {
	register(&command{
		name:    "cat",
		summary: "concatenate files to standard output, zero-copy (cat(1))",
		usage: `usage: splice cat [-u] [FILE...]

Concatenate FILEs to standard output, as cat(1) does without options: "-" or
no FILE is standard input. The bytes go by splice(2), sendfile(2) or
copy_file_range(2) wherever the kernel can, into a pipe, a file or a socket.
An unreadable FILE is reported and skipped (exit status 1); an output error
stops the copy. -u is accepted and ignored, as GNU cat does.

Unlike GNU cat, it grows a pipe on stdin or stdout to 1 MiB (or the system's
pipe-max-size), which makes a copy through it about three times as fast; the
pipe keeps that size, charged to the user who made it, while it lives. A
closed stdin or stdout reads as /dev/null (Go's runtime opens it on a closed
fd 0, 1 or 2 at start), where GNU cat reports a bad file descriptor.

Options may come after FILEs, as GNU's do; "--" ends them.

  -u          ignored
  -h, --help  print this help

Example:
  splice cat header.bin - trailer.bin < body.bin | gzip > all.gz
`,
		run: runCat,
	})
}

// parseCat parses cat's arguments as GNU's getopt does: options anywhere
// (-u, ignored, alone or repeated as -uu; -h and --help), "--" ends them, "-"
// is a FILE.
func parseCat(args []string) (files []string, help bool, err error) {
	for i, arg := range args {
		switch {
		case arg == "--":
			return append(files, args[i+1:]...), help, nil
		case arg == "--help":
			help = true
		case strings.HasPrefix(arg, "--"):
			return nil, false, fmt.Errorf("unrecognized option '%s'", arg)
		case len(arg) > 1 && arg[0] == '-':
			for _, c := range arg[1:] {
				switch c {
				case 'u':
				case 'h':
					help = true
				default:
					return nil, false, fmt.Errorf("invalid option -- '%c'", c)
				}
			}
		default:
			files = append(files, arg)
		}
	}
	return files, help, nil
}

func runCat(args []string) int {
	files, help, err := parseCat(args)
	switch {
	case err != nil:
		warnf("cat", "%v", err)
		fmt.Fprintln(os.Stderr, "Try 'splice cat -h' for more information.")
		return exitUsage
	case help:
		fmt.Fprint(os.Stdout, commands["cat"].usage)
		return exitOK
	}
	if len(files) == 0 {
		files = []string{"-"}
	}

	// As GNU cat: the output's identity is taken once, before any input.
	out, err := os.Stdout.Stat()
	if err != nil {
		warnf("cat", "standard output: %s", strerror(err))
		return exitFailure
	}
	outIsReg := out.Mode().IsRegular()
	growPipe(os.Stdout)
	if slices.Contains(files, "-") {
		growPipe(os.Stdin)
	}

	status := exitOK
	for _, name := range files {
		in := os.Stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				warnf("cat", "%s: %s", quotef(name), strerror(err))
				status = exitFailure
				continue
			}
			in = f
		}
		ok, fatal := catFile(in, name, out, outIsReg)
		if name != "-" {
			if err := in.Close(); err != nil && ok {
				warnf("cat", "%s: %s", quotef(name), strerror(err))
				ok = false
			}
		}
		if fatal {
			return exitFailure
		}
		if !ok {
			status = exitFailure
		}
	}
	return status
}

// catFile copies in (named name, "-" for standard input) to standard output.
// It reports an input failure itself and returns ok == false; an output
// failure, reported too, is fatal, as GNU cat's "write error" is.
func catFile(in *os.File, name string, out os.FileInfo, outIsReg bool) (ok, fatal bool) {
	fi, err := in.Stat()
	if err != nil {
		warnf("cat", "%s: %s", quotef(name), strerror(err))
		return false, false
	}
	// GNU cat refuses to copy a regular file into itself while there is
	// something left to read of it: that would only fill the disk.
	if outIsReg && os.SameFile(fi, out) {
		if off, err := in.Seek(0, io.SeekCurrent); err == nil && off < fi.Size() {
			warnf("cat", "%s: input file is output file", quotef(name))
			return false, false
		}
	}
	_, err = splicekit.Copy(os.Stdout, in)
	if err == nil {
		return true, false
	}
	if isWriteError(err) && !inputFailed(in, fi, &err) {
		// A broken stdout pipe never gets here: the failing write raises
		// SIGPIPE, as os.File.Write does for fd 1, and the process dies of
		// it as cat does. (Also when the parent ignored SIGPIPE, where GNU
		// cat reports "write error: Broken pipe": Go's runtime installs its
		// own handler at start, and the inherited SIG_IGN is lost.)
		warnf("cat", "write error: %s", strerror(err))
		return false, true
	}
	warnf("cat", "%s: %s", quotef(name), strerror(err))
	return false, false
}

// isWriteError reports whether a Copy to standard output failed on the output
// side. Copy shapes its errors as io.Copy does: an *os.PathError whose Op is
// the failing side's ("read" on the input file, "write" on the output).
func isWriteError(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Op == "write"
	}
	return false
}

// inputFailed tells an input error that Copy reports as a write error apart:
// between regular files (and from a directory) Copy, as io.Copy, takes
// copy_file_range(2), whose failures os.File.ReadFrom blames on the output
// whichever side caused them ("write /dev/stdout: is a directory"). For such
// an input, it reads a byte where the copy stopped (ReadAt, so that the offset
// stays): if that fails too, the input is at fault, and *err becomes the
// read's error, as cat's own read would have reported it.
func inputFailed(in *os.File, fi os.FileInfo, err *error) bool {
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return false // a pipe, socket or device: Copy blames the side that failed
	}
	off, serr := in.Seek(0, io.SeekCurrent)
	if serr != nil {
		return false
	}
	var b [1]byte
	if _, rerr := in.ReadAt(b[:], off); rerr != nil && rerr != io.EOF {
		*err = rerr
		return true
	}
	return false
}

// quotef quotes a file name for a message as coreutils' quotef does (gnulib's
// shell-escape quoting, with ':' quoted too): a name of only harmless
// characters as it is, anything else in single quotes, control characters and
// invalid UTF-8 as $'\ooo' escapes, a quote inside a name that needs no other
// quoting in double quotes.
func quotef(s string) string {
	if s == "" {
		return "''"
	}
	needs, control := false, false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unprintable(r, size):
			needs, control = true, true
		case strings.ContainsRune(" !\"$&'()*;<=>?[\\^`|:", r),
			(r == '#' || r == '~') && i == 0:
			needs = true
		}
		i += size
	}
	if !needs {
		return s
	}
	if !control && strings.Contains(s, "'") && !strings.ContainsAny(s, "\"$`\\!") {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('\'')
	endsEscaped := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unprintable(r, size):
			b.WriteString("'$'")
			for _, c := range []byte(s[i : i+size]) {
				b.WriteString(cEscape(c))
			}
			b.WriteString("''")
			endsEscaped = true
		case r == '\'':
			b.WriteString(`'\''`)
			endsEscaped = false
		default:
			b.WriteString(s[i : i+size])
			endsEscaped = false
		}
		i += size
	}
	q := b.String()
	if endsEscaped {
		// gnulib elides the empty quotes an escape at the end leaves.
		return q[:len(q)-1]
	}
	return q + "'"
}

// unprintable reports whether the rune r of size bytes must be escaped: a
// control character or a byte that is not UTF-8.
func unprintable(r rune, size int) bool {
	return r == utf8.RuneError && size == 1 || r < 0x20 || r == 0x7f || r >= 0x80 && !unicode.IsPrint(r)
}

// cEscape is c as it appears inside $'...'.
func cEscape(c byte) string {
	switch c {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	return fmt.Sprintf(`\%03o`, c)
}
