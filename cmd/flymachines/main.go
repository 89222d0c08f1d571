// Command flymachines is the command-line companion of the flymachines-go
// client. Each subcommand lives in a file of its own and is listed in
// commands.
//
//	flymachines demo                              a one-off job on the built-in emulator
//	flymachines run --image IMAGE [--cmd CMD]     a one-off job; exits with its exit code
//	flymachines machines list|get|wait            look at an app's Machines
//	flymachines pool run|status|drain             jobs on a pool of Machines shared across processes
//	flymachines emulator [-addr 127.0.0.1:4280]   serve the Machines API emulator
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flymachines/flymachines-go/sandbox"
)

// cli is what every command works with: where to print, and the settings
// that main takes from the environment and tests choose themselves.
type cli struct {
	stdout, stderr io.Writer
	// sandbox is what run connects with, before its flags (main: FLY_APP,
	// FLY_ORG and FLY_REGION); demo takes its emulator timings and client
	// options too.
	sandbox sandbox.Config
	// progressEvery is how often a long wait prints a line saying it
	// still waits.
	progressEvery time.Duration
}

// command is one subcommand, run with the arguments after its name, or a
// group of subcommands (sub).
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, cl *cli, args []string) error
	sub     []command
	// printsToken: the command prints a token on purpose (the emulator's
	// banner), so its output is not redacted, only made terminal-safe.
	printsToken bool
}

// commands lists the subcommands; add new ones here.
var commands = []command{
	{name: "demo", summary: "run a one-off job on the built-in emulator, step by step", run: runDemo},
	{name: "run", summary: "run a one-off job on a new Machine; exit with its exit code", run: runRun},
	{name: "machines", summary: "list an app's Machines, show one, wait for a state", sub: machinesCommands},
	{name: "pool", summary: "run jobs on a pool of Machines shared across processes; status, drain", sub: poolCommands},
	{name: "emulator", summary: "serve the Machines API emulator over HTTP", run: runEmulator, printsToken: true},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cl := &cli{stdout: os.Stdout, stderr: os.Stderr, sandbox: sandbox.FromEnv(), progressEvery: 5 * time.Second}
	code := cl.dispatch(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// dispatch runs the command that args name and returns the exit status:
// 0; the job's exit code for run; 1 after an error, 2 after a usage
// error, each told in one line on stderr that starts with the command's
// full name. Help, asked for with -h, --help or help, goes to stdout.
func (cl *cli) dispatch(ctx context.Context, args []string) int {
	name, cmd, args, ok := cl.find(args)
	if !ok {
		return 2
	}
	if cmd == nil {
		return 0 // help was asked for and printed
	}
	// Whatever the API sent, printed by any command, reaches the terminal
	// as text, never as control sequences, and without the token (see
	// output.go).
	redact := envTokenRedactor()
	if cmd.printsToken {
		redact = nil
	}
	safeOut, safeErr := newSafeOutput(cl.stdout, redact), newSafeOutput(cl.stderr, redact)
	defer safeOut.Flush()
	defer safeErr.Flush()
	run := *cl
	run.stdout, run.stderr = safeOut, safeErr

	err := cmd.run(ctx, &run, args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	if st, ok := errors.AsType[exitStatus](err); ok {
		return int(st)
	}
	fmt.Fprintf(safeErr, "%s: %s\n", name, errorLine(err))
	return 1
}

// find walks args down the command tree. It returns the command to run,
// its full name ("flymachines machines get") and its arguments; or no
// command after printing the help asked for (ok) or a usage error (!ok).
func (cl *cli) find(args []string) (name string, cmd *command, rest []string, ok bool) {
	name, cmds := "flymachines", commands
	for {
		if len(args) == 0 {
			usageError(cl.stderr, name, "missing command: %s", orList(cmds))
			return name, nil, nil, false
		}
		if isHelp(args[0]) {
			groupUsage(cl.stdout, name, cmds)
			return name, nil, nil, true
		}
		i := commandIndex(cmds, args[0])
		if i < 0 {
			usageError(cl.stderr, name, "unknown command %q: want %s", args[0], orList(cmds))
			return name, nil, nil, false
		}
		c := &cmds[i]
		name, args = name+" "+c.name, args[1:]
		if c.sub == nil {
			return name, c, args, true
		}
		cmds = c.sub
	}
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

func commandIndex(cmds []command, name string) int {
	for i, c := range cmds {
		if c.name == name {
			return i
		}
	}
	return -1
}

// orList is "a, b or c" of the commands' names.
func orList(cmds []command) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// groupUsage is the help of flymachines or of a group of subcommands.
func groupUsage(w io.Writer, name string, cmds []command) {
	fmt.Fprintf(w, "usage: %s <command> [flags]\n\ncommands:\n", name)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	switch name {
	case "flymachines machines":
		fmt.Fprint(w, machinesEnvNote)
	case "flymachines pool":
		fmt.Fprint(w, poolNote)
	}
	fmt.Fprintf(w, "\nRun '%s <command> -h' for a command's flags.\n", name)
}

// errorLine is err's message as one line, without the "flymachines: "
// that the library's errors start with (and wrap into one another): the
// command's name leads the line already.
func errorLine(err error) string {
	msg := strings.ReplaceAll(err.Error(), "flymachines: ", "")
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

// errUsage reports bad flags or arguments, already explained to the user.
var errUsage = errors.New("usage")

// exitStatus ends the program with this status and no message of its
// own: run exits with its Machine's exit code, already reported.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }
