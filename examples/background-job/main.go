// Background-job runs a one-off job on a throwaway Fly Machine: it creates
// a Machine from an image with a command, waits for the Machine to start
// and for the command to exit, and reads the exit code. After a clean exit
// the Machine is destroyed; after a failure it is kept, stopped, so that
// its logs and events can be looked at.
//
// The command is what follows the flags, as with docker run. Without
// FLY_API_TOKEN it runs against an emulator inside this program:
//
//	go run ./examples/background-job
//	go run ./examples/background-job sh -c 'echo oops; exit 3'
//
// With FLY_API_TOKEN it runs on Fly.io, in -app, or else in a throwaway app
// that it deletes afterwards (kept only when a failed job's Machine is):
//
//	FLY_API_TOKEN=$(fly auth token) go run ./examples/background-job -region ams
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
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:], sandbox.FromEnv())
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "background-job:", err)
		os.Exit(1)
	}
}

// run runs the job with the flags in args, connecting as cfg says (the
// flags override its app, org and region).
func run(ctx context.Context, out io.Writer, args []string, cfg sandbox.Config) error {
	fs := flag.NewFlagSet("background-job", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.App, "app", cfg.App, "Fly `app` to run the job in (env FLY_APP; default: a throwaway app)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of a throwaway app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "`region` of the job's Machine (env FLY_REGION; default: the API's choice)")
	image := fs.String("image", "alpine:3.20", "Docker `image` to run")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up on the job after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "usage: background-job [flags] [command [arg...]]")
			fs.SetOutput(out)
			fs.PrintDefaults()
		}
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		argv = []string{"sh", "-c", `echo "crunching numbers"; sleep 2; echo done`}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Fly's API when FLY_API_TOKEN is set, else an emulator in this process.
	cfg.Out, cfg.AppPrefix = out, "background-job"
	env, err := sandbox.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(out, "app %s, region %s\n", env.App, orDefault(env.Region, "chosen by the API"))

	// The job's Machine: the image, the command (init.cmd replaces the
	// image's CMD), the smallest guest, and no restarts, since a job that
	// failed must not run again by itself.
	req := &models.CreateMachineRequest{
		Region: env.Region,
		Config: &models.FlyMachineConfig{
			Image:    *image,
			Init:     &models.FlyMachineInit{Cmd: argv},
			Guest:    &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
			Restart:  &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo},
			Metadata: map[string]string{"role": "background-job"},
		},
	}
	fmt.Fprintf(out, "running %q on a new machine from %s\n", argv, *image)

	// RunJob does the whole flow: create the Machine (never twice, even
	// if a create times out), wait for it to start and for its process to
	// exit (server-side waits, no polling), read the exit code, and
	// destroy the Machine after a clean exit. After an error (time ran
	// out, say) it destroys the Machine too, so nothing is left running.
	begin := time.Now()
	res, err := env.Client.RunJob(ctx, env.App, req)
	switch {
	case err != nil && res != nil && res.FailedToStart:
		// The Machine could not boot (a bad image, say): keep it, like a
		// failed job's, for a look at why.
		env.KeepApp()
		fmt.Fprintf(out, "machine %s failed to start; kept: fly machine status %s -a %s\n", res.Machine.ID, res.Machine.ID, env.App)
		return err
	case err != nil:
		if res != nil && res.Machine != nil {
			fmt.Fprintf(out, "destroyed machine %s after the error\n", res.Machine.ID)
		}
		return err
	}

	// The timings are when RunJob learned of each step.
	m, exit := res.Machine, res.Exit
	fmt.Fprintf(out, "created machine %s in %s in %s\n", m.ID, m.Region, ms(res.Created.Sub(begin)))
	fmt.Fprintf(out, "started after %s\n", ms(res.Started.Sub(res.Created)))
	fmt.Fprintf(out, "exited with code %d after %s%s\n", exit.ExitCode, ms(res.Exited.Sub(res.Started)), exitNote(exit))
	if res.Destroyed {
		fmt.Fprintf(out, "destroyed the machine: clean exit, nothing to keep (%s)\n", ms(time.Since(res.Exited)))
		fmt.Fprintf(out, "job done in %s\n", ms(time.Since(begin)))
		return nil
	}

	// A failed job: its Machine stays, stopped (it costs no CPU), with its
	// logs and events. So does a throwaway app that holds it.
	env.KeepApp()
	fmt.Fprintf(out, "kept machine %s (stopped) for inspection:\n", m.ID)
	fmt.Fprintf(out, "  fly machine status %s -a %s\n", m.ID, env.App)
	fmt.Fprintf(out, "  fly logs -a %s -i %s\n", env.App, m.ID)
	if env.Emulator {
		fmt.Fprintln(out, "  (on the embedded emulator it is gone when this program ends)")
	} else if env.CreatedApp {
		fmt.Fprintf(out, "  when done: fly apps destroy %s\n", env.App)
	} else {
		fmt.Fprintf(out, "  when done: fly machine destroy %s -a %s\n", m.ID, env.App)
	}
	return fmt.Errorf("the job failed: exit code %d", exit.ExitCode)
}

// exitNote says why a process ended, beyond its code.
func exitNote(s *flymachines.ExitStatus) string {
	switch {
	case s.OOMKilled:
		return " (killed: out of memory)"
	case s.Signal > 0:
		return fmt.Sprintf(" (signal %d)", s.Signal)
	}
	return ""
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
