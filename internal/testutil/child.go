package testutil

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// childCommand returns the command that runs this test binary again in a
// child process for t: -test.run=run, -test.count=1, -test.short when t runs
// under -short, a -test.timeout within t's deadline (leaving the parent time to
// report a child that times out, which panics with every goroutine's stack),
// then extra; its environment is this process's plus env. args are the
// arguments after the binary, for messages.
func childCommand(t testing.TB, run, env string, extra ...string) (cmd *exec.Cmd, args []string) {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	args = []string{"-test.run=" + run, "-test.count=1"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			left := time.Until(deadline)
			args = append(args, "-test.timeout="+max(left-left/10-5*time.Second, time.Second).String())
		}
	}
	args = append(args, extra...)
	cmd = exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env)
	return cmd, args
}
