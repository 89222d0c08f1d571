package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/internal/shellwords"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/pool"
)

// poolCommands are the subcommands of `flymachines pool`.
var poolCommands = []command{
	{name: "run", summary: "run a job on a Machine of a pool; exit with its exit code", run: runPoolRun},
	{name: "status", summary: "show a pool's Machines: state, generation, who holds them", run: runPoolStatus},
	{name: "drain", summary: "destroy a pool's Machines as they come free", run: runPoolDrain},
}

const poolNote = `
A pool is the Machines of an app whose metadata names it (flymachines_pool),
shared by every process that uses the same app and name. The API is the one
FLY_API_TOKEN (or FLY_ACCESS_TOKEN) and FLY_API_HOSTNAME select: Fly's, or a
'flymachines emulator' once its variables are exported.
`

// poolFlags are the flags that say which pool, and with what config.
type poolFlags struct {
	fs      *flag.FlagSet
	app     *string
	name    *string
	image   *string
	cpus    *int64
	memory  *int64
	cpuKind *string
	regions listFlag
	min     *int
	max     *int
	idle    *time.Duration
	ttl     *time.Duration
}

// addPoolFlags adds the flags of the pool and its Machines' config to fs.
func addPoolFlags(fs *flag.FlagSet) *poolFlags {
	f := &poolFlags{fs: fs, app: appFlag(fs)}
	f.name = fs.String("name", "", "`name` of the pool (required)")
	f.image = fs.String("image", "", "Docker `image` of the pool's Machines")
	f.cpus = fs.Int64("cpus", 1, "number of `CPUs` of each Machine")
	f.memory = fs.Int64("memory", 256, "memory of each Machine in `MB`: a multiple of 256")
	f.cpuKind = fs.String("cpu-kind", "shared", "`kind` of CPU: shared or performance")
	fs.Var(&f.regions, "region", "`region` for new Machines; repeat, in order of preference (default: the API's choice)")
	f.min = fs.Int("min", 0, "Machines kept however idle")
	f.max = fs.Int("max", 4, "most Machines in the pool")
	f.idle = fs.Duration("idle-timeout", pool.DefaultIdleTimeout, "destroy Machines stopped this long (above --min) when sweeping")
	f.ttl = fs.Duration("lease-ttl", pool.DefaultLeaseTTL, "lease of a claim: a dead holder's claim ends this long after its last refresh")
	return f
}

// check reports a usage problem of the pool flags, or "".
func (f *poolFlags) check(needImage bool) string {
	switch {
	case *f.app == "":
		return "--app is required (or set FLY_APP)"
	case *f.name == "":
		return "--name is required"
	case needImage && *f.image == "":
		return "--image is required"
	case *f.cpus < 1:
		return "--cpus must be at least 1"
	case *f.memory < 256 || *f.memory%256 != 0:
		return fmt.Sprintf("--memory %d: want a multiple of 256 MB (256, 512, 1024, ...)", *f.memory)
	case *f.max < 1 || *f.min < 0 || *f.min > *f.max:
		return fmt.Sprintf("--min %d --max %d: want 0 <= min <= max and max >= 1", *f.min, *f.max)
	}
	return ""
}

// open opens the pool through c. Without --image (status, drain) its
// config is a stand-in: the generation it names is then no one's.
func (f *poolFlags) open(c *flymachines.Client) (*pool.Pool, error) {
	image := *f.image
	if image == "" {
		image = "(not given)"
	}
	return pool.New(c, pool.Config{
		App: *f.app, Name: *f.name,
		Config: &models.FlyMachineConfig{
			Image: image,
			Guest: &models.FlyMachineGuest{CPUKind: *f.cpuKind, Cpus: *f.cpus, MemoryMb: *f.memory},
		},
		Regions: f.regions, Min: *f.min, Max: *f.max,
		IdleTimeout: *f.idle, LeaseTTL: *f.ttl,
	})
}

func runPoolRun(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines pool run", flag.ContinueOnError)
	pf := addPoolFlags(fs)
	cmd := fs.String("cmd", "", "`command` of the job, split like a shell would (default: the image's own)")
	var argv listFlag
	fs.Var(&argv, "arg", "one `word` of the job's command; repeat for each (instead of --cmd)")
	env := keyValueFlag{}
	fs.Var(env, "env", "environment variable `KEY=VALUE` of the job; repeatable")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines pool run --app APP --name POOL --image IMAGE [--cmd COMMAND | --arg WORD...] [flags]", `
Runs one job on a Machine of the pool: claims a stopped Machine (or creates
one, below --max; or waits for one, at --max), boots it with the job's
command and environment, waits for the job to exit and gives the Machine
back, stopped, for the next job. flymachines exits with the job's exit code,
or 1 when it could not run. Every process that runs jobs on the same app
and pool name, on any host, shares its Machines.
`+poolNote,
			`  flymachines pool run --app my-jobs --name workers --image alpine:3.20 --cmd "sh -c 'echo hello'"
  flymachines pool run --app my-jobs --name workers --image alpine:3.20 --max 8 \
      --region ord --region iad --arg ./work --arg --batch=42 --env MODE=batch`)
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	if problem := pf.check(true); problem != "" {
		return usageError(cl.stderr, fs.Name(), "%s", problem)
	}
	switch {
	case len(rest) > 0:
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q (give the command with --cmd or --arg)", rest[0])
	case *cmd != "" && len(argv) > 0:
		return usageError(cl.stderr, fs.Name(), "give the command with --cmd or with --arg, not both")
	}
	job := pool.Job{Cmd: []string(argv), Env: maps.Clone(map[string]string(env))}
	if *cmd != "" {
		if job.Cmd, err = shellwords.Split(*cmd); err != nil {
			return usageError(cl.stderr, fs.Name(), "--cmd: %v", err)
		}
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}
	p, err := pf.open(c)
	if err != nil {
		return err
	}
	what := shellwords.Join(job.Cmd)
	if what == "" {
		what = "the image's own command"
	}
	fmt.Fprintf(cl.stdout, "pool %s in app %s (generation %s, at most %d machines): running %s\n", p.Name(), p.App(), p.Generation(), *pf.max, what)
	begin := time.Now()
	st, err := p.Run(ctx, job, pool.OnBoot(func(m *models.Machine) {
		fmt.Fprintf(cl.stdout, "  ✓ booted machine %s in %s %7s\n", m.ID, m.Region, shortDuration(time.Since(begin)))
	}))
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return errors.New("interrupted")
		}
		return err
	}
	mark := "✓"
	if !st.Success() {
		mark = "✗"
	}
	fmt.Fprintf(cl.stdout, "  %s exited with code %d%s %7s; the machine is back in the pool\n", mark, st.ExitCode, exitNote(st), shortDuration(time.Since(begin)))
	if code := processExitCode(st); code != 0 {
		return exitStatus(code)
	}
	return nil
}

func runPoolStatus(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines pool status", flag.ContinueOnError)
	pf := addPoolFlags(fs)
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines pool status --app APP --name POOL [--image IMAGE ...]", `
Lists the pool's Machines: state, region, generation (a hash of the config
they were made from), who holds each, and since when the free ones are idle.
With --image (and the other config flags as 'pool run' has them), the
Machines of that config are marked current (*).
`+poolNote,
			"  flymachines pool status --app my-jobs --name workers\n  flymachines pool status --app my-jobs --name workers --image alpine:3.20")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	if problem := pf.check(false); problem != "" {
		return usageError(cl.stderr, fs.Name(), "%s", problem)
	}
	if len(rest) > 0 {
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q", rest[0])
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}
	p, err := pf.open(c)
	if err != nil {
		return err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if len(st.Machines) == 0 {
		fmt.Fprintf(cl.stdout, "pool %s in app %s has no machines\n", st.Name, st.App)
		return nil
	}
	fmt.Fprintf(cl.stdout, "pool %s in app %s: %s, %d free, %d busy (%s)\n", st.Name, st.App,
		plural(len(st.Machines), "machine"), st.Free, st.Busy, counts(st.ByState))
	tw := tabwriter.NewWriter(cl.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tREGION\tGENERATION\tHELD BY\tIDLE SINCE")
	for _, m := range st.Machines {
		gen := m.Generation
		if m.Current && *pf.image != "" {
			gen += "*"
		}
		held, idle := orDash(m.HeldBy), "-"
		if m.HeldBy == "" && (m.State == flymachines.StateStopped || m.State == flymachines.StateSuspended) && !m.UpdatedAt.IsZero() {
			idle = m.UpdatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.State, m.Region, orDash(gen), held, idle)
	}
	return tw.Flush()
}

func runPoolDrain(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines pool drain", flag.ContinueOnError)
	pf := addPoolFlags(fs)
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this `duration`")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines pool drain --app APP --name POOL [--timeout 10m]", `
Destroys the pool's Machines, of every generation: the free ones at once,
the busy ones as their claims end (a Machine left running by a process that
died, once its lease has lapsed). Returns when none is left. Processes that
still run jobs on the pool create Machines again: stop them first.
`+poolNote,
			"  flymachines pool drain --app my-jobs --name workers\n  flymachines pool drain --app my-jobs --name workers --timeout 30m")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	if problem := pf.check(false); problem != "" {
		return usageError(cl.stderr, fs.Name(), "%s", problem)
	}
	switch {
	case len(rest) > 0:
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q", rest[0])
	case *timeout <= 0:
		return usageError(cl.stderr, fs.Name(), "--timeout must be positive")
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}
	p, err := pf.open(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	before, err := p.Status(ctx)
	if err != nil {
		return err
	}
	begin := time.Now()
	if err := p.Drain(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("pool %s is not drained after %s: %w", *pf.name, *timeout, err)
		}
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return errors.New("interrupted")
		}
		return err
	}
	fmt.Fprintf(cl.stdout, "drained pool %s in app %s: %s destroyed in %s\n", p.Name(), p.App(),
		plural(len(before.Machines), "machine"), shortDuration(time.Since(begin)))
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// counts is "2 started, 1 stopped", by name.
func counts(by map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(by)) {
		parts = append(parts, fmt.Sprintf("%d %s", by[k], k))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
