// Faas runs the Machine side of a functions-as-a-service platform: an app
// per customer function, Machines with HTTP and TLS services in two
// regions that the Fly proxy stops when idle and starts on the next
// request, and the calls a platform makes around them: stop, start again
// (harmless on a running Machine), list, filter by metadata, delete.
//
// Without FLY_API_TOKEN it runs against an emulator inside this program:
//
//	go run ./examples/faas
//	go run ./examples/faas -region ams -region2 nrt
//
// With FLY_API_TOKEN it runs on Fly.io: it creates its own app (-app, or a
// fresh name) and deletes it, Machines included, before it ends:
//
//	FLY_API_TOKEN=$(fly auth token) go run ./examples/faas -org my-org
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
	"text/tabwriter"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:], sandbox.FromEnv())
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "faas:", err)
		os.Exit(1)
	}
}

// run runs the flow with the flags in args, connecting as cfg says (the
// flags override its org and region).
func run(ctx context.Context, out io.Writer, args []string, cfg sandbox.Config) error {
	fs := flag.NewFlagSet("faas", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	app := fs.String("app", "", "`name` of the app to create for the function (default: faas-<random>)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of the app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", orDefault(cfg.Region, "ord"), "first `region` (env FLY_REGION)")
	region2 := fs.String("region2", "syd", "second `region`")
	image := fs.String("image", "flyio/fastify-functions", "Docker `image` of the function: an HTTP server on port 8080")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "usage: faas [flags]")
			fs.SetOutput(out)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Region == *region2 {
		return fmt.Errorf("-region and -region2 are both %s: the point is two regions", *region2)
	}
	if *app == "" {
		*app = sandbox.NewAppName("faas")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// This flow creates and deletes its app itself.
	cfg.Out, cfg.NoApp = out, true
	env, err := sandbox.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()
	f := &faas{c: env.Client, app: *app, out: out}
	return f.run(ctx, env.Org, *image, []string{cfg.Region, *region2})
}

type faas struct {
	c   *flymachines.Client
	app string
	out io.Writer
}

func (f *faas) run(ctx context.Context, org, image string, regions []string) (err error) {
	// 1. The app groups the function's Machines and routes requests to
	// them. (Public traffic also needs an IP address for the app, such as
	// one from `fly ips allocate-v4`; this example stops short of that.)
	begin := time.Now()
	if _, err := f.c.CreateApp(ctx, &models.CreateAppRequest{Name: f.app, OrgSlug: org}); err != nil {
		return fmt.Errorf("creating app %s: %w", f.app, err)
	}
	fmt.Fprintf(f.out, "created app %s in org %s in %s\n", f.app, org, ms(time.Since(begin)))
	deleted := false
	defer func() {
		if !deleted {
			// Something failed on the way: take the app down, Machines and all.
			f.deleteApp()
		}
	}()

	// 2. One Machine per region. Each runs the function behind the Fly
	// proxy: HTTPS on 443 and HTTP on 80, both to port 8080 inside. The
	// proxy stops an idle Machine (autostop) and starts it again when a
	// request comes (autostart), so a function costs nothing between calls.
	var ids []string
	for i, region := range regions {
		placement := "primary"
		if i > 0 {
			placement = "nearby"
		}
		t0 := time.Now()
		m, err := f.c.CreateMachine(ctx, f.app, &models.CreateMachineRequest{
			Name:   "fn-" + region,
			Region: region,
			Config: functionConfig(image, placement),
		})
		if err != nil {
			return fmt.Errorf("launching in %s: %w", region, err)
		}
		// Wait on the version the create returned: a server-side wait.
		if err := f.c.WaitStarted(ctx, f.app, m.ID, flymachines.WithInstanceID(m.InstanceID)); err != nil {
			return err
		}
		fmt.Fprintf(f.out, "launched machine %s (%s) in %s: started in %s\n", m.ID, m.Name, m.Region, ms(time.Since(t0)))
		ids = append(ids, m.ID)
	}

	// 3. Stop one. On a platform the proxy's autostop mostly does this;
	// the API can too.
	second := ids[1]
	t0 := time.Now()
	if err := f.c.Machines.Stop(ctx, f.app, second, nil, nil); err != nil {
		return err
	}
	if err := f.c.WaitStopped(ctx, f.app, second); err != nil {
		return err
	}
	fmt.Fprintf(f.out, "stopped machine %s in %s\n", second, ms(time.Since(t0)))

	// 4. Start it again. A platform that routes a request to a Machine
	// need not know whether it runs: it just starts it. The second start
	// below finds it already up, which is no error for this purpose.
	for _, when := range []string{"start", "start again"} {
		t0 := time.Now()
		alreadyUp, err := f.ensureStarted(ctx, second)
		if err != nil {
			return err
		}
		if err := f.c.WaitStarted(ctx, f.app, second); err != nil {
			return err
		}
		if alreadyUp {
			fmt.Fprintf(f.out, "%s: machine %s was already started (the API's 412 is fine here)\n", when, second)
		} else {
			fmt.Fprintf(f.out, "%s: machine %s started in %s\n", when, second, ms(time.Since(t0)))
		}
	}

	// 5. List the app's Machines, all of them and then by metadata.
	if err := f.list(ctx, "all machines of the app", nil); err != nil {
		return err
	}
	if err := f.list(ctx, "machines with placement=nearby", map[string]string{"placement": "nearby"}); err != nil {
		return err
	}

	// 6. Delete the Machines (force: they are running), then the app.
	for _, id := range ids {
		if err := f.c.Machines.Delete(ctx, f.app, id, &machines.DeleteParams{Force: true}); err != nil {
			return err
		}
		fmt.Fprintf(f.out, "deleted machine %s\n", id)
	}
	deleted = true
	return f.deleteApp()
}

// functionConfig is the Machine config of a function: its image, its
// services with autostop and autostart, and metadata to find it by.
func functionConfig(image, placement string) *models.FlyMachineConfig {
	return &models.FlyMachineConfig{
		Image: image,
		Env:   map[string]string{"APP_ENV": "production"},
		Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
		Services: []*models.FlyMachineService{{
			Protocol:     "tcp",
			InternalPort: 8080,
			Ports: []*models.FlyMachinePort{
				{Port: 443, Handlers: []string{"tls", "http"}},
				{Port: 80, Handlers: []string{"http"}},
			},
			Autostop:  flytypes.AutostopStop,
			Autostart: new(true),
		}},
		Metadata: map[string]string{"function": "hello", "placement": placement},
	}
}

// ensureStarted starts a Machine unless it is up already. Start succeeds
// only on a stopped Machine; on one that runs, or is on its way up, the
// API answers 412 failed_precondition, reported here as alreadyUp. (A
// Machine on its way down answers 412 too: the wait that follows tells the
// two apart.)
func (f *faas) ensureStarted(ctx context.Context, id string) (alreadyUp bool, err error) {
	_, err = f.c.Machines.Start(ctx, f.app, id, nil)
	if err == nil {
		return false, nil
	}
	if errors.Is(err, flymachines.ErrWrongState) {
		return true, nil
	}
	return false, fmt.Errorf("starting machine %s: %w", id, err)
}

// list prints the app's Machines whose metadata has every key and value of
// metadata (the API filters: nil lists them all).
func (f *faas) list(ctx context.Context, title string, metadata map[string]string) error {
	res, err := f.c.Machines.List(ctx, f.app, &machines.ListParams{Metadata: metadata})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.out, "%s:\n", title)
	tw := tabwriter.NewWriter(f.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tNAME\tREGION\tSTATE")
	for _, m := range res {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, m.Name, m.Region, m.State)
	}
	return tw.Flush()
}

// deleteApp deletes the app with force, so any Machine left goes with it,
// even after the caller's context ended.
func (f *faas) deleteApp() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := f.c.Apps.Delete(ctx, f.app, &apps.DeleteParams{Force: true})
	if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		return fmt.Errorf("deleting app %s: %w", f.app, err)
	}
	fmt.Fprintf(f.out, "deleted app %s\n", f.app)
	return nil
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
