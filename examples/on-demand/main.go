// On-demand keeps Machines that run a task and stop, and starts them again
// by id whenever there is work: starting a stopped Machine takes well under
// a second, creating one takes much longer.
//
// First one Machine takes the pieces of work one after another. Then a pool
// of stopped Machines takes jobs that arrive together: each job takes a
// stopped Machine, starts it, waits for it to exit, and gives it back. The
// workers' command is what follows the flags.
//
// Without FLY_API_TOKEN it runs against an emulator inside this program:
//
//	go run ./examples/on-demand
//	go run ./examples/on-demand -work 5 -pool 4 -jobs 12
//
// With FLY_API_TOKEN it runs on Fly.io, in -app or else in a throwaway app,
// and destroys every Machine it created before it ends:
//
//	FLY_API_TOKEN=$(fly auth token) go run ./examples/on-demand -region ams
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:], sandbox.FromEnv())
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "on-demand:", err)
		os.Exit(1)
	}
}

// run runs both parts with the flags in args, connecting as cfg says (the
// flags override its app, org and region).
func run(ctx context.Context, out io.Writer, args []string, cfg sandbox.Config) error {
	fs := flag.NewFlagSet("on-demand", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.App, "app", cfg.App, "Fly `app` to work in (env FLY_APP; default: a throwaway app)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of a throwaway app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "`region` of the Machines (env FLY_REGION; default: the API's choice)")
	image := fs.String("image", "alpine:3.20", "Docker `image` of the workers")
	work := fs.Int("work", 3, "pieces of work for the single machine")
	pool := fs.Int("pool", 3, "stopped machines in the pool")
	jobs := fs.Int("jobs", 6, "jobs arriving together for the pool")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "usage: on-demand [flags] [command [arg...]]")
			fs.SetOutput(out)
			fs.PrintDefaults()
		}
		return err
	}
	argv := fs.Args()
	if len(argv) == 0 {
		argv = []string{"sh", "-c", `echo "working on it"; sleep 1`}
	}
	if *work < 0 || *pool < 1 || *jobs < 0 {
		return fmt.Errorf("-work and -jobs must be at least 0, -pool at least 1")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	cfg.Out, cfg.AppPrefix = out, "on-demand"
	env, err := sandbox.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()
	fmt.Fprintf(out, "app %s, region %s\n", env.App, orDefault(env.Region, "chosen by the API"))

	f := &flow{c: env.Client, app: env.App, out: &syncWriter{w: out}}
	// Whatever happens, no Machine of this run outlives it.
	defer f.destroyAll()

	// Every worker runs the same command; a real one would fetch its input
	// from a queue or a database when it boots.
	worker := func(skipLaunch bool) *models.CreateMachineRequest {
		return &models.CreateMachineRequest{
			Region:     env.Region,
			SkipLaunch: skipLaunch,
			Config: &models.FlyMachineConfig{
				Image: *image,
				Init:  &models.FlyMachineInit{Cmd: argv},
				Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
				// The task's exit stops the Machine; no restarts behind our back.
				Restart:  &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo},
				Metadata: map[string]string{"role": "on-demand-worker"},
			},
		}
	}
	if err := f.single(ctx, worker(false), *work); err != nil {
		return err
	}
	return f.pooled(ctx, worker, *pool, *jobs)
}

// flow holds what both parts share.
type flow struct {
	c       *flymachines.Client
	app     string
	out     io.Writer
	mu      sync.Mutex
	created []string // every Machine created, for destroyAll
}

// single creates one Machine and has it do the pieces of work one after
// another, started by id each time.
func (f *flow) single(ctx context.Context, req *models.CreateMachineRequest, work int) error {
	fmt.Fprintln(f.out, "\n== one machine, started by id whenever work arrives")
	begin := time.Now()
	// Creating a Machine also runs it, at once. (skip_launch would create
	// it stopped: the pool below does that.)
	m, err := f.create(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.out, "created machine %s in %s; it runs its task once right away\n", m.ID, ms(time.Since(begin)))

	// The first piece of work comes while that first run is still going:
	// see startAndWait for what happens then.
	for i := 1; i <= work; i++ {
		t0 := time.Now()
		exit, err := f.startAndWait(ctx, m.ID, fmt.Sprintf("work %d", i))
		if err != nil {
			return err
		}
		fmt.Fprintf(f.out, "work %d: done, exit code %d, %s after it arrived\n", i, exit.ExitCode, ms(time.Since(t0)))
	}
	return nil
}

// pooled creates a pool of stopped Machines and runs jobs on them, as many
// at once as there are Machines.
func (f *flow) pooled(ctx context.Context, worker func(skipLaunch bool) *models.CreateMachineRequest, size, jobs int) error {
	fmt.Fprintf(f.out, "\n== a pool of %d stopped machines for %d jobs at once\n", size, jobs)
	// The pool is a channel of ids of stopped Machines: taking an id
	// takes the Machine, sending it back returns it.
	idle := make(chan string, size)
	begin := time.Now()
	for range size {
		m, err := f.create(ctx, worker(true)) // skip_launch: created stopped, ready
		if err != nil {
			return err
		}
		idle <- m.ID
	}
	fmt.Fprintf(f.out, "created %d stopped machines in %s\n", size, ms(time.Since(begin)))

	begin = time.Now()
	var (
		wg       sync.WaitGroup
		errs     = make([]error, jobs)
		runTimes = make([]time.Duration, jobs)
	)
	for j := range jobs {
		wg.Go(func() {
			var id string
			select {
			case id = <-idle: // wait for a stopped Machine
			case <-ctx.Done():
				errs[j] = ctx.Err()
				return
			}
			defer func() { idle <- id }() // give it back, stopped
			t0 := time.Now()
			exit, err := f.startAndWait(ctx, id, fmt.Sprintf("job %d", j+1))
			if err != nil {
				errs[j] = fmt.Errorf("job %d: %w", j+1, err)
				return
			}
			runTimes[j] = time.Since(t0)
			fmt.Fprintf(f.out, "job %d: machine %s, exit code %d after %s\n", j+1, id, exit.ExitCode, ms(runTimes[j]))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var oneByOne time.Duration
	for _, d := range runTimes {
		oneByOne += d
	}
	fmt.Fprintf(f.out, "%d jobs on %d machines took %s; one after another, about %s\n",
		jobs, size, ms(time.Since(begin)), ms(oneByOne))
	return nil
}

// startAndWait starts a stopped Machine and waits for its task to exit.
// A Machine that is still running (its first run after create, or a start
// by someone else) cannot be started: the API answers 412 with
// failed_precondition. Then it waits for the Machine to stop and starts it
// again.
func (f *flow) startAndWait(ctx context.Context, id, what string) (*flymachines.ExitStatus, error) {
	for {
		_, err := f.c.Machines.Start(ctx, f.app, id, nil)
		if err == nil {
			break
		}
		if !isBusy(err) {
			return nil, fmt.Errorf("starting machine %s: %w", id, err)
		}
		fmt.Fprintf(f.out, "%s: machine %s is busy (HTTP 412), waiting for it to stop\n", what, id)
		if err := f.c.WaitStopped(ctx, f.app, id); err != nil {
			return nil, err
		}
	}
	// WaitForExit waits for this run to stop and reads its exit code from
	// the Machine's newest exit event.
	return f.c.WaitForExit(ctx, f.app, id)
}

// isBusy reports the API's refusal to start a Machine that is not stopped:
// 412 failed_precondition. (412 also means no capacity, which waiting
// does not cure.)
func isBusy(err error) bool {
	return errors.Is(err, flymachines.ErrWrongState)
}

func (f *flow) create(ctx context.Context, req *models.CreateMachineRequest) (*models.Machine, error) {
	m, err := f.c.CreateMachine(ctx, f.app, req)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.created = append(f.created, m.ID)
	f.mu.Unlock()
	return m, nil
}

// destroyAll destroys every Machine created here, stopped or not, even
// after the caller's context ended.
func (f *flow) destroyAll() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	for _, id := range f.created {
		err := f.c.Machines.Delete(ctx, f.app, id, &machines.DeleteParams{Force: true})
		if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
			fmt.Fprintf(f.out, "could not destroy machine %s: %v\n", id, err)
			continue
		}
		n++
	}
	switch {
	case n == 1:
		fmt.Fprintln(f.out, "\ndestroyed the machine of this run")
	case n > 1:
		fmt.Fprintf(f.out, "\ndestroyed the %d machines of this run\n", n)
	}
}

// syncWriter lets the jobs print at the same time, a line at a time.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
