package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The test binary doubles as the command: run with SPLICE_TEST_AS_COMMAND=1 it
// is splice itself, so that tests run the real thing (exit status, signals,
// fds 0, 1 and 2) without building it apart, and -race covers it too.
func TestMain(m *testing.M) {
	if os.Getenv("SPLICE_TEST_AS_COMMAND") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// splice returns a command that runs this test binary as "splice args...".
func splice(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SPLICE_TEST_AS_COMMAND=1")
	return cmd
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		status int
	}{
		{nil, exitUsage},
		{[]string{"nosuch"}, exitUsage},
		{[]string{"-h"}, exitOK},
		{[]string{"help"}, exitOK},
		{[]string{"help", "nosuch"}, exitUsage},
	} {
		cmd := splice(t, tc.args...)
		out, err := cmd.CombinedOutput()
		status := 0
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.status {
			t.Errorf("splice %q: exit status %d, want %d\n%s", tc.args, status, tc.status, out)
		}
		if len(out) == 0 {
			t.Errorf("splice %q printed nothing", tc.args)
		}
	}
}

func TestStrerror(t *testing.T) {
	_, err := os.Open("/nonexistent/file")
	if got, want := strerror(err), "No such file or directory"; got != want {
		t.Errorf("strerror(%v) = %q, want %q", err, got, want)
	}
}

// TestHelpOnStdout: every command's -h and "splice help COMMAND" print its
// usage on stdout (as GNU tools print --help), nothing on stderr, exit 0.
func TestHelpOnStdout(t *testing.T) {
	for name := range commands {
		for _, args := range [][]string{{name, "-h"}, {name, "--help"}, {"help", name}} {
			cmd := splice(t, args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("splice %q: %v\n%s", args, err, stderr.String())
				continue
			}
			if !strings.Contains(stdout.String(), "usage: splice "+name) {
				t.Errorf("splice %q: stdout %q, want the usage", args, stdout.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("splice %q wrote to stderr: %q", args, stderr.String())
			}
		}
	}
}
