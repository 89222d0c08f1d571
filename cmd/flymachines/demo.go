package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/internal/shellwords"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

// demoJobs are the demo's two jobs: one that succeeds, one that fails.
var demoJobs = []struct {
	title string
	cmd   []string
}{
	{"a job that succeeds", []string{"sh", "-c", `echo "hello from a Machine"; exit 0`}},
	{"a job that fails", []string{"sh", "-c", `echo "something broke" >&2; exit 3`}},
}

const demoImage = "alpine:3.20"

// runDemo runs the background-job flow twice on the embedded emulator and
// tells what happened. It never uses a token: it is the first thing to
// try, before there is a Fly account.
func runDemo(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines demo", flag.ContinueOnError)
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines demo", `
Runs a one-off job on a Fly Machine, twice (once succeeding, once failing),
against the Machines API emulator built into this program, and shows each
step with its timing. It needs no Fly.io account and never uses a token,
even when FLY_API_TOKEN is set: 'flymachines run' is the same flow on Fly.`,
			"  flymachines demo\n  go run ./cmd/flymachines demo")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q", rest[0])
	}

	fmt.Fprintln(cl.stdout, "flymachines demo: a one-off job on a Fly Machine, run against the Machines API")
	fmt.Fprintln(cl.stdout, "emulator inside this program. No Fly.io account needed; nothing leaves this computer.")
	for _, name := range []string{flymachines.EnvAPIToken, flymachines.EnvAccessToken} {
		if strings.TrimSpace(os.Getenv(name)) != "" {
			fmt.Fprintf(cl.stdout, "(%s is set, but the demo always uses the emulator; 'flymachines run' uses Fly.)\n", name)
			break
		}
	}
	env, err := sandbox.Connect(ctx, sandbox.Config{
		Emulator:        true,
		AppPrefix:       "demo",
		TransitionDelay: cl.sandbox.TransitionDelay,
		JobRuntime:      cl.sandbox.JobRuntime,
		ClientOptions:   cl.sandbox.ClientOptions,
	})
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(cl.stdout, "\n  endpoint  %s (embedded emulator)\n  app       %s\n  image     %s\n", env.Endpoint, env.App, demoImage)

	runner := &jobRunner{cl: cl, c: env.Client, app: env.App}
	for i, job := range demoJobs {
		fmt.Fprintf(cl.stdout, "\nJob %d, %s: %s\n", i+1, job.title, shellwords.Join(job.cmd))
		begin := time.Now()
		res, err := runner.run(ctx, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
			Image: demoImage,
			Init:  &models.FlyMachineInit{Cmd: job.cmd},
			Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
		}})
		if err != nil {
			return err
		}
		if !res.Destroyed {
			fmt.Fprintf(cl.stdout, "  • kept (stopped) for a look at its logs; on Fly: fly logs -a %s -i %s\n", env.App, res.Machine.ID)
		}
		fmt.Fprintf(cl.stdout, "  %-48s %7s\n", "total", shortDuration(time.Since(begin)))
	}

	fmt.Fprintln(cl.stdout, `
Next:
  go run ./examples/background-job
      the same flow, written with the library
  go install ./cmd/flymachines
  flymachines run --image alpine --cmd "sh -c 'exit 3'"; echo $?
      the same flow, on Fly.io when FLY_API_TOKEN is set; prints 3, the job's
      exit code (through go run, the status would be go run's own: 1)`)
	return nil
}
