package sandbox

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// EmulatorOptions configure the embedded emulator the way Connect starts
// it, so that the flows behave as on Fly:
//
//   - a Machine whose config runs a command (init.exec or init.cmd) runs
//     it for cfg.JobRuntime and exits: with code N when the command ends
//     in "exit N" (so sh -c 'exit 3' exits 3), else with code 0;
//   - any other Machine, such as one with services, runs until stopped;
//   - transient states last cfg.TransitionDelay, and Machines created
//     without a region go to EmulatorRegion.
//
// Tests use them to serve the same emulator themselves.
func EmulatorOptions(cfg Config) []flytest.Option {
	delay, runtime := cfg.TransitionDelay, cfg.JobRuntime
	if delay <= 0 {
		delay = DefaultTransitionDelay
	}
	if runtime <= 0 {
		runtime = DefaultJobRuntime
	}
	opts := []flytest.Option{
		flytest.WithTransitionDelay(delay),
		flytest.WithDefaultRegion(EmulatorRegion),
	}
	// A Behavior has a fixed exit code, so there is one rule per code.
	for code := range 256 {
		isCode := func(c *models.FlyMachineConfig) bool {
			n, ok := commandExit(c)
			return ok && n == code
		}
		opts = append(opts, flytest.WithBehavior(isCode, flytest.ExitAfter(runtime, code)))
	}
	return opts
}

// exitAtEnd finds a trailing "exit N" in a shell command.
var exitAtEnd = regexp.MustCompile(`(?:^|[\s;&|])exit\s+([0-9]{1,9})[\s;]*$`)

// commandExit reports whether config c runs a command of its own
// (init.exec, else init.cmd) and, if so, the exit code the emulator gives
// it: N, modulo 256 as in a shell, when the command line ends in "exit N",
// else 0.
func commandExit(c *models.FlyMachineConfig) (code int, ok bool) {
	if c == nil || c.Init == nil {
		return 0, false
	}
	argv := c.Init.Exec
	if len(argv) == 0 {
		argv = c.Init.Cmd
	}
	if len(argv) == 0 {
		return 0, false
	}
	m := exitAtEnd.FindStringSubmatch(strings.Join(argv, " "))
	if m == nil {
		return 0, true
	}
	n, _ := strconv.Atoi(m[1]) // at most 9 digits: fits
	return n % 256, true
}
