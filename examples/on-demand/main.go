// On-demand keeps Machines that run a task and stop, and starts them again
// whenever there is work: starting a stopped Machine takes well under a
// second, creating one takes much longer. A pool (package pool) keeps the
// books: which Machines exist, which are free, who runs what; any number
// of processes, on any number of hosts, can share it.
//
// First pieces of work arrive one after another: one Machine does them
// all, created for the first and started again for each next. Then jobs
// arrive together: the pool grows to -pool Machines and the jobs share
// them. The workers' command is what follows the flags.
//
// Without FLY_API_TOKEN it runs against an emulator inside this program:
//
//	go run ./examples/on-demand
//	go run ./examples/on-demand -work 5 -pool 4 -jobs 12
//
// With FLY_API_TOKEN it runs on Fly.io, in -app or else in a throwaway app,
// and destroys every Machine of its pool before it ends:
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

	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/pool"
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
	work := fs.Int("work", 3, "pieces of work, one after another")
	size := fs.Int("pool", 3, "most machines in the pool")
	jobs := fs.Int("jobs", 6, "jobs arriving together")
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
	if *work < 0 || *size < 1 || *jobs < 0 {
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

	// Every worker runs the same command: it is the pool's config, so each
	// job is a plain start of a stopped Machine. A real worker would fetch
	// its input from a queue or a database when it boots.
	var regions []string
	if env.Region != "" {
		regions = []string{env.Region}
	}
	p, err := pool.New(env.Client, pool.Config{
		App: env.App, Name: "on-demand", Regions: regions, Max: *size,
		Config: &models.FlyMachineConfig{
			Image: *image,
			Init:  &models.FlyMachineInit{Cmd: argv},
			Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
		},
	})
	if err != nil {
		return err
	}
	f := &flow{p: p, out: &syncWriter{w: out}}
	// Whatever happens, no Machine of the pool outlives this run.
	defer f.drain()

	if err := f.oneAfterAnother(ctx, *work); err != nil {
		return err
	}
	return f.together(ctx, *jobs)
}

// flow is what both parts share.
type flow struct {
	p   *pool.Pool
	out io.Writer
}

// job runs one job on the pool and says which Machine ran it.
func (f *flow) job(ctx context.Context) (string, int, error) {
	var id string
	st, err := f.p.Run(ctx, pool.Job{}, pool.OnBoot(func(m *models.Machine) { id = m.ID }))
	if err != nil {
		return id, 0, err
	}
	return id, st.ExitCode, nil
}

// oneAfterAnother runs pieces of work one after another: the first
// creates a Machine, the others start it again.
func (f *flow) oneAfterAnother(ctx context.Context, work int) error {
	fmt.Fprintln(f.out, "\n== work arriving one piece after another")
	for i := 1; i <= work; i++ {
		t0 := time.Now()
		id, code, err := f.job(ctx)
		if err != nil {
			return fmt.Errorf("work %d: %w", i, err)
		}
		fmt.Fprintf(f.out, "work %d: machine %s, exit code %d, %s after it arrived\n", i, id, code, ms(time.Since(t0)))
	}
	return nil
}

// together runs jobs that arrive at once: they share the pool's
// Machines, the pool growing to its Max, the rest waiting their turn.
func (f *flow) together(ctx context.Context, jobs int) error {
	fmt.Fprintf(f.out, "\n== %d jobs arriving together\n", jobs)
	begin := time.Now()
	var (
		wg       sync.WaitGroup
		errs     = make([]error, jobs)
		runTimes = make([]time.Duration, jobs)
		mu       sync.Mutex
		used     = map[string]bool{}
	)
	for j := range jobs {
		wg.Go(func() {
			t0 := time.Now()
			id, code, err := f.job(ctx)
			if err != nil {
				errs[j] = fmt.Errorf("job %d: %w", j+1, err)
				return
			}
			runTimes[j] = time.Since(t0)
			mu.Lock()
			used[id] = true
			mu.Unlock()
			fmt.Fprintf(f.out, "job %d: machine %s, exit code %d after %s\n", j+1, id, code, ms(runTimes[j]))
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
	fmt.Fprintf(f.out, "%d jobs on %s took %s; one after another, about %s\n",
		jobs, countMachines(len(used)), ms(time.Since(begin)), ms(oneByOne))
	return nil
}

// drain destroys the pool's Machines, even after the caller's context
// ended.
func (f *flow) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := f.p.Status(ctx)
	if err == nil {
		err = f.p.Drain(ctx)
	}
	if err != nil {
		fmt.Fprintf(f.out, "could not destroy the pool's machines: %v\n", err)
		return
	}
	fmt.Fprint(f.out, destroyed(len(st.Machines)))
}

// destroyed says how many Machines were destroyed, as English has it.
func destroyed(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "\ndestroyed the machine of this run\n"
	}
	return fmt.Sprintf("\ndestroyed the %d machines of this run\n", n)
}

// countMachines is "1 machine", "2 machines".
func countMachines(n int) string {
	if n == 1 {
		return "1 machine"
	}
	return fmt.Sprintf("%d machines", n)
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
