package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"

	"github.com/flymachines/flymachines-go/internal/shellwords"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

// runRun runs a one-off job on a new Machine: on Fly when a token is set,
// else on the embedded emulator. The process exits with the job's exit
// code.
func runRun(ctx context.Context, cl *cli, args []string) error {
	cfg := cl.sandbox
	fs := flag.NewFlagSet("flymachines run", flag.ContinueOnError)
	image := fs.String("image", "", "Docker `image` to run (required)")
	cmd := fs.String("cmd", "", "`command` to run, split like a shell would (default: the image's own)")
	var argv listFlag
	fs.Var(&argv, "arg", "one `word` of the command; repeat for each (instead of --cmd)")
	env := keyValueFlag{}
	fs.Var(env, "env", "environment variable `KEY=VALUE` for the job; repeatable")
	fs.StringVar(&cfg.App, "app", cfg.App, "Fly `app` to run in (env FLY_APP; default: a throwaway app)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of a throwaway app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "`region` of the Machine (env FLY_REGION; default: the API's choice)")
	cpus := fs.Int64("cpus", 1, "number of `CPUs`")
	memory := fs.Int64("memory", 256, "memory in `MB`: a multiple of 256")
	cpuKind := fs.String("cpu-kind", "shared", "`kind` of CPU: shared or performance")
	keep := fs.Bool("keep", false, "keep the Machine after a clean exit too (a failed one is always kept)")
	fs.BoolVar(&cfg.Emulator, "emulator", false, "use the embedded emulator even when FLY_API_TOKEN is set")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines run --image IMAGE [--cmd COMMAND | --arg WORD...] [flags]", `
Runs a one-off job on a new Fly Machine: creates the Machine, waits for it to
start and for its command to exit, then destroys it after a clean exit or
keeps it, stopped, for inspection after a failure. flymachines exits with the
job's exit code, or 1 when the job could not run. (Through 'go run', the
status is go run's own: 1 for any code but 0. Use the installed command:
go install ./cmd/flymachines, or go build -o flymachines ./cmd/flymachines.)

With FLY_API_TOKEN (or FLY_ACCESS_TOKEN) set it runs on Fly.io, in --app or
else in a throwaway app deleted afterwards; without, or with --emulator, on
the emulator built into this program, where a command that ends in "exit N"
exits N.`,
			`  flymachines run --image alpine --cmd "sh -c 'echo hello'"
  flymachines run --image alpine --cmd "sh -c 'exit 3'"; echo $?
  flymachines run --image python:3.12-slim --arg python --arg -c --arg "print(42)" \
      --app my-jobs --region ams --memory 512 --env MODE=batch`)
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q (give the command with --cmd or --arg)", rest[0])
	case *image == "":
		return usageError(cl.stderr, fs.Name(), "--image is required")
	case *cmd != "" && len(argv) > 0:
		return usageError(cl.stderr, fs.Name(), "give the command with --cmd or with --arg, not both")
	case *cpus < 1:
		return usageError(cl.stderr, fs.Name(), "--cpus must be at least 1")
	case *memory < 256 || *memory%256 != 0:
		// Fly takes memory in steps of 256 MB: say so before anything is
		// created, rather than after a throwaway app.
		return usageError(cl.stderr, fs.Name(), "--memory %d: want a multiple of 256 MB (256, 512, 1024, ...)", *memory)
	}
	command := []string(argv)
	if *cmd != "" {
		if command, err = shellwords.Split(*cmd); err != nil {
			return usageError(cl.stderr, fs.Name(), "--cmd: %v", err)
		}
	}

	cfg.Out, cfg.AppPrefix = cl.stdout, "flymachines-run"
	sb, err := sandbox.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer sb.Close()

	conf := &models.FlyMachineConfig{
		Image: *image,
		Guest: &models.FlyMachineGuest{CPUKind: *cpuKind, Cpus: *cpus, MemoryMb: *memory},
	}
	if len(command) > 0 {
		conf.Init = &models.FlyMachineInit{Cmd: command}
	}
	if len(env) > 0 {
		conf.Env = maps.Clone(map[string]string(env))
	}
	what := shellwords.Join(command)
	if what == "" {
		what = "the image's own command"
		if sb.Emulator {
			what += " (on the emulator, a Machine without a command runs until stopped)"
		}
	}
	region := sb.Region
	if region == "" {
		region = "chosen by the API"
	}
	fmt.Fprintf(cl.stdout, "app %s, region %s\nrunning %s on a new machine from %s\n", sb.App, region, what, *image)

	runner := &jobRunner{cl: cl, c: sb.Client, app: sb.App, keep: *keep}
	res, err := runner.run(ctx, &models.CreateMachineRequest{Region: sb.Region, Config: conf})
	if err != nil {
		if res != nil && res.FailedToStart {
			sb.KeepApp() // with the Machine, for a look at why
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return errors.New("interrupted")
		}
		return err
	}
	if !res.Destroyed {
		sb.KeepApp()
		why := "for inspection"
		if res.Exit.Success() {
			why = "(--keep)"
		}
		fmt.Fprintf(cl.stdout, "  • kept machine %s, stopped, %s:\n", res.Machine.ID, why)
		switch {
		case sb.Emulator:
			fmt.Fprintln(cl.stdout, "    (the embedded emulator forgets it when flymachines exits)")
		case sb.CreatedApp:
			fmt.Fprintf(cl.stdout, "    fly logs -a %s -i %s\n    fly apps destroy %s   when done\n", sb.App, res.Machine.ID, sb.App)
		default:
			fmt.Fprintf(cl.stdout, "    fly logs -a %s -i %s\n    fly machine destroy %s -a %s   when done\n", sb.App, res.Machine.ID, res.Machine.ID, sb.App)
		}
	}
	if code := processExitCode(res.Exit); code != 0 {
		return exitStatus(code)
	}
	return nil
}
