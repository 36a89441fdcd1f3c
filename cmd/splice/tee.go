package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	splicekit "github.com/splicekit/splice"
)

func init() {
	register(&command{
		name:    "tee",
		summary: "copy standard input to standard output and files, zero-copy (tee(1))",
		usage: `usage: splice tee [-a] [-i] [-p] [--output-error[=MODE]] [FILE...]

Copy standard input to standard output and to every FILE, as tee(1) does:
the stream is duplicated with tee(2) and spliced into each output, never
copied through the program where the kernel can. "-" is a file named "-".

  -a, --append               append to the FILEs, do not truncate them
  -i, --ignore-interrupts    ignore SIGINT
  -p                         as --output-error=warn-nopipe
      --output-error[=MODE]  what to do when an output fails; MODE is
                             warn         report the error, go on with the others
                             warn-nopipe  the same, but drop a broken pipe silently
                                          (the MODE of -p and of a bare --output-error)
                             exit         report the error and exit
                             exit-nopipe  the same, but drop a broken pipe silently
  -h, --help                 print this help

Without -p or --output-error, a broken pipe kills tee with SIGPIPE and any
other output error is reported while tee goes on with the other outputs.
The exit status is 1 when an output failed or a FILE could not be opened.

Unlike GNU tee: the outputs move in chunks of up to 1 MiB where GNU's move in
8 KiB, so at an exit MODE the other outputs may hold up to a chunk more than
GNU's would; a SIGPIPE ignored by the parent still kills it (Go's runtime
installs its own handler); a closed stdin or stdout reads as /dev/null; and,
as splice cat does, it grows a pipe on stdin or stdout to 1 MiB.

Example:
  curl -s https://example.com/big.iso | splice tee -a big.iso | sha256sum
`,
		run: runTee,
	})
}

// teeMode is --output-error's MODE; teeSIGPIPE is the default, without it.
type teeMode int

const (
	teeSIGPIPE teeMode = iota
	teeWarn
	teeWarnNoPipe
	teeExit
	teeExitNoPipe
)

var teeModes = []struct {
	name string
	mode teeMode
}{{"warn", teeWarn}, {"warn-nopipe", teeWarnNoPipe}, {"exit", teeExit}, {"exit-nopipe", teeExitNoPipe}}

type teeOptions struct {
	appendTo, ignoreInt, help bool
	mode                      teeMode
	files                     []string
}

// errTeeUsage is a usage error already reported.
var errTeeUsage = errors.New("usage")

// parseTee parses tee's arguments as GNU getopt_long does: short options
// that may be combined (-ap), long options and unambiguous prefixes of them
// (--app), --output-error's optional argument only after '=', options and
// FILEs in any order, "--" ending the options, "-" a FILE.
func parseTee(args []string) (teeOptions, error) {
	var o teeOptions
	bad := func(format string, a ...any) (teeOptions, error) {
		warnf("tee", format, a...)
		fmt.Fprint(os.Stderr, "Try 'splice tee -h' for more information.\n")
		return o, errTeeUsage
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			o.files = append(o.files, args[i+1:]...)
			return o, nil
		case strings.HasPrefix(arg, "--"):
			name, value, hasValue := strings.Cut(arg[2:], "=")
			long := []string{"append", "ignore-interrupts", "output-error", "help"}
			var match []string
			for _, l := range long {
				if l == name {
					match = []string{l}
					break
				}
				if strings.HasPrefix(l, name) {
					match = append(match, l)
				}
			}
			switch {
			case len(match) == 0:
				return bad("unrecognized option '--%s'", name)
			case len(match) > 1:
				return bad("option '--%s' is ambiguous; possibilities: '--%s'", name, strings.Join(match, "' '--"))
			}
			if hasValue && match[0] != "output-error" {
				return bad("option '--%s' doesn't allow an argument", match[0])
			}
			switch match[0] {
			case "append":
				o.appendTo = true
			case "ignore-interrupts":
				o.ignoreInt = true
			case "help":
				o.help = true
			case "output-error":
				o.mode = teeWarnNoPipe
				if hasValue {
					m, ok, ambiguous := teeModeNamed(value)
					if !ok {
						what := "invalid"
						if ambiguous {
							what = "ambiguous"
						}
						warnf("tee", "%s argument '%s' for '--output-error'", what, value)
						fmt.Fprint(os.Stderr, "Valid arguments are:\n  - 'warn'\n  - 'warn-nopipe'\n  - 'exit'\n  - 'exit-nopipe'\n")
						fmt.Fprint(os.Stderr, "Try 'splice tee -h' for more information.\n")
						return o, errTeeUsage
					}
					o.mode = m
				}
			}
		case len(arg) > 1 && arg[0] == '-':
			for _, c := range arg[1:] {
				switch c {
				case 'a':
					o.appendTo = true
				case 'i':
					o.ignoreInt = true
				case 'p':
					o.mode = teeWarnNoPipe
				case 'h':
					o.help = true
				default:
					return bad("invalid option -- '%c'", c)
				}
			}
		default:
			o.files = append(o.files, arg)
		}
	}
	return o, nil
}

// teeModeNamed is the MODE named s, or by an unambiguous prefix of one, as
// GNU's argmatch accepts it. ambiguous reports that s is a prefix of several
// (the empty string is a prefix of all), which GNU calls an ambiguous argument
// rather than an invalid one.
func teeModeNamed(s string) (mode teeMode, ok, ambiguous bool) {
	var found []teeMode
	for _, m := range teeModes {
		if m.name == s {
			return m.mode, true, false
		}
		if strings.HasPrefix(m.name, s) {
			found = append(found, m.mode)
		}
	}
	if len(found) == 1 {
		return found[0], true, false
	}
	return 0, false, len(found) > 1
}

// A teeOutput is one output of tee: standard output first, then each FILE
// that could be opened.
type teeOutput struct {
	name string // as messages name it
	f    *os.File
}

func runTee(args []string) int {
	o, err := parseTee(args)
	if err != nil {
		return exitUsage
	}
	if o.help {
		fmt.Fprint(os.Stdout, commands["tee"].usage)
		return exitOK
	}
	if o.ignoreInt {
		signal.Ignore(os.Interrupt)
	}
	if o.mode != teeSIGPIPE {
		// As GNU tee: a broken pipe is an output error like another, which
		// the MODE handles, not a signal that kills.
		signal.Ignore(syscall.SIGPIPE)
	}

	growPipe(os.Stdin)
	growPipe(os.Stdout)
	status := exitOK
	outs := []teeOutput{{quotef("standard output"), os.Stdout}}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if o.appendTo {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	for _, name := range o.files {
		f, err := os.OpenFile(name, flags, 0o666)
		if err != nil {
			warnf("tee", "%s: %s", quotef(name), strerror(err))
			status = exitFailure
			continue
		}
		outs = append(outs, teeOutput{quotef(name), f})
	}

	if !teeCopy(outs, o.mode) {
		status = exitFailure
	}
	for _, out := range outs[1:] {
		if err := out.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			warnf("tee", "%s: %s", out.name, strerror(err))
			status = exitFailure
		}
	}
	return status
}

// teeCopy copies standard input to every output until EOF, a read error, or
// no output is left, and reports whether no output failed (a broken pipe
// dropped silently is no failure, as in GNU tee). An output error in an exit
// MODE exits at once.
//
// CopyMulti runs without DropFailed: it stops at the chunk where an output
// fails, with every other output holding exactly the bytes taken from stdin,
// so that the failure is reported when it happens (not at EOF), an exit MODE
// stops the copy at once, and the others go on in a new CopyMulti.
func teeCopy(outs []teeOutput, mode teeMode) bool {
	ok := true
	live := outs
	for len(live) > 0 {
		dsts := make([]io.Writer, len(live))
		for i, out := range live {
			dsts[i] = out.f
		}
		_, err := splicekit.CopyMulti(os.Stdin, dsts...)
		if err == nil {
			return ok
		}
		failed, srcErr := destErrors(err)
		dead := make([]bool, len(live))
		for _, de := range failed {
			if de.Index < 0 || de.Index >= len(live) || dead[de.Index] {
				continue
			}
			dead[de.Index] = true
			if !teeFailed(live[de.Index], de.Err, mode) {
				ok = false
			}
		}
		if srcErr != nil {
			warnf("tee", "read error: %s", strerror(srcErr))
			return false
		}
		var next []teeOutput
		for i, out := range live {
			if !dead[i] {
				next = append(next, out)
			}
		}
		if len(next) == len(live) {
			// Unreachable: an error is src's or names an output. Stop
			// rather than retry a copy that failed for no output.
			warnf("tee", "%s", err)
			return false
		}
		live = next
	}
	return ok
}

// teeFailed handles the failure of out with err as mode says, and reports
// whether it may be ignored (a broken pipe in a -nopipe MODE).
func teeFailed(out teeOutput, err error, mode teeMode) (ignored bool) {
	epipe := errors.Is(err, syscall.EPIPE)
	switch {
	case epipe && mode == teeSIGPIPE:
		// GNU tee dies of the SIGPIPE the write raised. A broken stdout
		// raised it already (os.File.Write does for fd 1); a FILE that is a
		// pipe did not: raise it now. (Go's runtime installs its own
		// handler at start, so even a SIGPIPE that the parent ignored kills
		// splice tee, where GNU tee would drop the output and go on.)
		raiseSIGPIPE()
		return true
	case epipe && (mode == teeWarnNoPipe || mode == teeExitNoPipe):
		return true
	}
	warnf("tee", "%s: %s", out.name, strerror(err))
	if mode == teeExit || mode == teeExitNoPipe {
		os.Exit(exitFailure)
	}
	return false
}

// destErrors takes err of a CopyMulti apart: the *DestError of each output
// that failed, in Index order, and what is left, src's error.
func destErrors(err error) (failed []*splicekit.DestError, srcErr error) {
	var walk func(error)
	var rest []error
	walk = func(e error) {
		if de, ok := e.(*splicekit.DestError); ok {
			failed = append(failed, de)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		rest = append(rest, e)
	}
	walk(err)
	return failed, errors.Join(rest...)
}
