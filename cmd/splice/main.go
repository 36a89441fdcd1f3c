// Command splice is cat, tee, a forwarding proxy and a benchmark built on the
// splice package's public API: the bytes move by splice(2), tee(2), sendfile(2)
// and copy_file_range(2) wherever the kernel can, by read and write elsewhere.
//
// Usage:
//
//	splice cat [FILE...]
//	splice tee [-a] [-p] [--output-error[=MODE]] [FILE...]
//	splice proxy -listen ADDR -to ADDR [flags]
//	splice bench [-size N] [-pairs LIST] [-json] [-svg FILE]
//
// Run "splice help COMMAND" or "splice COMMAND -h" for a command's flags. Exit
// status: 0 on success, 1 on failure, 2 on bad usage.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
)

// A command is one subcommand: run gets its arguments (without its name) and
// returns the exit status.
type command struct {
	name    string
	summary string // one line, for the command list
	usage   string // the synopsis, examples and flags' preamble, for -h
	run     func(args []string) int
}

// commands holds every subcommand; each file adds its own from init.
var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("splice: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// Exit statuses, as coreutils uses them.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"-h"})
			}
			fmt.Fprintf(os.Stderr, "splice: unknown command %q\n", args[1])
			usage(os.Stderr)
			return exitUsage
		}
		usage(os.Stdout)
		return exitOK
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "splice: unknown command %q\n", name)
		usage(os.Stderr)
		return exitUsage
	}
	return c.run(args[1:])
}

func usage(w io.Writer) {
	fmt.Fprint(w, "usage: splice COMMAND [ARGS...]\n\nCommands:\n")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-6s  %s\n", name, commands[name].summary)
	}
	fmt.Fprint(w, "\nRun 'splice COMMAND -h' for a command's usage and an example.\n")
}

// warnf prints a coreutils-style message, "splice NAME: ...", on stderr.
func warnf(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "splice %s: %s\n", name, fmt.Sprintf(format, args...))
}

// strerror renders err the way coreutils does: the C library's message for
// the errno at the bottom of err ("No such file or directory"), else err's own
// text. A path or an operation is the caller's to add.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return capitalize(errno.Error())
	}
	return err.Error()
}

// capitalize upper-cases the first letter of s, which turns Go's errno texts
// (strerror's, lower-cased) back into glibc's, as coreutils prints them:
// "no such file or directory" → "No such file or directory".
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseFlags parses args into fs. The flag package's output is held until
// Parse says what it is: the usage asked for by -h, -help or --help goes to
// stdout, as GNU tools print --help, and parseFlags reports exitOK; an error and
// the usage after it go to stderr, and it reports exitUsage. ok reports that
// the command should go on.
func parseFlags(fs *flag.FlagSet, args []string) (status int, ok bool) {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	fs.SetOutput(os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Stdout.Write(out.Bytes())
		return exitOK, false
	case err != nil:
		os.Stderr.Write(out.Bytes())
		return exitUsage, false
	}
	return exitOK, true
}
