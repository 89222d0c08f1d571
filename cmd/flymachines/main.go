// Command flymachines is the command-line companion of the flymachines-go
// client. Each subcommand lives in a file of its own and is listed in
// commands.
//
//	flymachines demo                              a one-off job on the built-in emulator
//	flymachines run --image IMAGE [--cmd CMD]     a one-off job; exits with its exit code
//	flymachines machines list|get|wait            look at an app's Machines
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
	"syscall"
)

// command is one subcommand. run gets the arguments after the
// subcommand's name and a context cancelled by SIGINT or SIGTERM.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// printsToken: the command prints a token on purpose (the emulator's
	// banner), so its output is not redacted, only made terminal-safe.
	printsToken bool
}

// commands lists the subcommands; add new ones here.
var commands = []command{
	{"demo", "run a one-off job on the built-in emulator, step by step", runDemo, false},
	{"run", "run a one-off job on a new Machine; exit with its exit code", runRun, false},
	{"machines", "list an app's Machines, show one, wait for a state", runMachines, false},
	{"emulator", "serve the Machines API emulator over HTTP", runEmulator, true},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the subcommand args name and returns the exit status.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		// Whatever the API sent, printed by any command, reaches the
		// terminal as text, never as control sequences, and without the
		// token (see output.go).
		redact := envTokenRedactor()
		if c.printsToken {
			redact = nil
		}
		safeOut, safeErr := newSafeOutput(stdout, redact), newSafeOutput(stderr, redact)
		defer safeOut.Flush()
		defer safeErr.Flush()
		stdout, stderr = safeOut, safeErr
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		}
		if st, ok := errors.AsType[exitStatus](err); ok {
			return int(st)
		}
		fmt.Fprintf(stderr, "flymachines %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(stderr, "flymachines: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage reports bad flags or arguments, already explained to the user.
var errUsage = errors.New("usage")

// exitStatus ends the program with this status and no message of its
// own: run exits with its Machine's exit code, already reported.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: flymachines <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'flymachines <command> -h' for a command's flags.")
}
