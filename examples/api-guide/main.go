// Api-guide walks through Fly's guide to the Machines API with this
// client, one step per operation: create, show and delete an app; create,
// wait for, get, update, stop, start, list and delete a Machine; and take
// a lease on it, send its nonce with a change, and release it.
//
// Without FLY_API_TOKEN it runs against an emulator inside this program:
//
//	go run ./examples/api-guide
//
// With FLY_API_TOKEN it runs on Fly.io: it creates its own app (-app, or a
// fresh name) and deletes it, Machine included, before it ends:
//
//	FLY_API_TOKEN=$(fly auth token) go run ./examples/api-guide -region ams
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"syscall"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Args[1:], sandbox.FromEnv())
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "api-guide:", err)
		os.Exit(1)
	}
}

// run walks through the guide with the flags in args, connecting as cfg
// says (the flags override its org and region).
func run(ctx context.Context, out io.Writer, args []string, cfg sandbox.Config) error {
	fs := flag.NewFlagSet("api-guide", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	app := fs.String("app", "", "`name` of the app to create (default: api-guide-<random>)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of the app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "`region` of the Machine (env FLY_REGION; default: the API's choice)")
	image := fs.String("image", "flyio/fastify-functions", "Docker `image`: an HTTP server on port 8080")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, "usage: api-guide [flags]")
			fs.SetOutput(out)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *app == "" {
		*app = sandbox.NewAppName("api-guide")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// The guide creates and deletes its app itself.
	cfg.Out, cfg.NoApp = out, true
	env, err := sandbox.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()
	g := &guide{c: env.Client, app: *app, out: out, start: time.Now()}
	return g.run(ctx, env.Org, env.Region, *image)
}

type guide struct {
	c     *flymachines.Client
	app   string
	out   io.Writer
	start time.Time
}

// step prints a line, stamped with the time since the start.
func (g *guide) step(format string, args ...any) {
	fmt.Fprintf(g.out, "%8s  %s\n", ms(time.Since(g.start)), fmt.Sprintf(format, args...))
}

func (g *guide) run(ctx context.Context, org, region, image string) (err error) {
	c := g.c

	// Apps: create one, then show it.
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: g.app, OrgSlug: org}); err != nil {
		return fmt.Errorf("creating app %s: %w", g.app, err)
	}
	appDeleted := false
	defer func() {
		if !appDeleted {
			g.deleteApp() // a step failed: take the app down, Machine and all
		}
	}()
	a, err := c.Apps.Show(ctx, g.app)
	if err != nil {
		return err
	}
	g.step("app %s created: organization %s, status %s", a.Name, a.Organization.Slug, a.Status)

	// Machines: create one. Only config.image is required; this one
	// serves HTTP and TLS through the Fly proxy and has a health check.
	m, err := c.CreateMachine(ctx, g.app, &models.CreateMachineRequest{
		Name:   "guide-machine",
		Region: region,
		Config: &models.FlyMachineConfig{
			Image: image,
			Env:   map[string]string{"APP_ENV": "production"},
			Services: []*models.FlyMachineService{{
				Protocol:     "tcp",
				InternalPort: 8080,
				Ports: []*models.FlyMachinePort{
					{Port: 443, Handlers: []string{"tls", "http"}},
					{Port: 80, Handlers: []string{"http"}},
				},
			}},
			Checks: map[string]models.FlyMachineCheck{
				"httpget": {Type: "http", Port: 8080, Method: "GET", Path: "/", Interval: "15s", Timeout: "10s"},
			},
		},
	})
	if err != nil {
		return err
	}
	g.step("machine %s created in %s: state %s, instance %s", m.ID, m.Region, m.State, m.InstanceID)

	// Wait for it to start. The wait names the version (instance_id) it
	// is about, as returned by the create: a later version starting would
	// not count.
	if err := c.WaitStarted(ctx, g.app, m.ID, flymachines.WithInstanceID(m.InstanceID)); err != nil {
		return err
	}
	g.step("machine %s started (waited on instance %s)", m.ID, m.InstanceID)

	// Get it.
	m, err = g.get(ctx, m.ID)
	if err != nil {
		return err
	}
	g.step("got machine %s: %s, %d %s CPU, %d MB, image %s", m.ID, m.State,
		m.Config.Guest.Cpus, m.Config.Guest.CPUKind, m.Config.Guest.MemoryMb, m.Config.Image)

	// Update it to 512 MB. An update sends the whole config, not a patch
	// (name and region cannot change), and makes a new version, which the
	// Machine boots on.
	updated, err := g.update(ctx, m, func(conf *models.FlyMachineConfig) { conf.Guest.MemoryMb = 512 })
	if err != nil {
		return err
	}
	if err := c.WaitStarted(ctx, g.app, m.ID, flymachines.WithInstanceID(updated.InstanceID)); err != nil {
		return err
	}
	g.step("machine %s updated to %d MB and started again on instance %s", m.ID, updated.Config.Guest.MemoryMb, updated.InstanceID)

	// Stop it, and wait for that version to be stopped.
	if err := c.Machines.Stop(ctx, g.app, m.ID, nil, nil); err != nil {
		return err
	}
	if err := c.WaitStopped(ctx, g.app, m.ID, flymachines.WithInstanceID(updated.InstanceID)); err != nil {
		return err
	}
	g.step("machine %s stopped", m.ID)

	// Start it again: fast, since everything is in place already.
	started, err := c.Machines.Start(ctx, g.app, m.ID, nil)
	if err != nil {
		return err
	}
	if err := c.WaitStarted(ctx, g.app, m.ID); err != nil {
		return err
	}
	g.step("machine %s started (previous state %s)", m.ID, started.PreviousState)

	// List the app's Machines.
	list, err := c.Machines.List(ctx, g.app, nil)
	if err != nil {
		return err
	}
	for _, lm := range list {
		g.step("listed machine %s (%s) in %s: %s", lm.ID, lm.Name, lm.Region, lm.State)
	}

	// Leases: while one is held, the API refuses changes to the Machine
	// that do not carry its nonce, even from the same token.
	if err := g.leased(ctx, m.ID); err != nil {
		return err
	}

	// Delete the Machine. It runs, hence force, which stops it first.
	if err := c.Machines.Delete(ctx, g.app, m.ID, &machines.DeleteParams{Force: true}); err != nil {
		return err
	}
	if err := c.WaitDestroyed(ctx, g.app, m.ID); err != nil {
		return err
	}
	g.step("machine %s deleted (force)", m.ID)

	// Delete the app.
	appDeleted = true
	return g.deleteApp()
}

// leased takes the Machine's lease, shows a change without its nonce
// refused and one with it accepted, and releases the lease.
func (g *guide) leased(ctx context.Context, id string) error {
	lease, err := g.c.AcquireLease(ctx, g.app, id, 30*time.Second, flymachines.LeaseDescription("api-guide example"))
	if err != nil {
		return err
	}
	released := false
	defer func() {
		if !released { // a step failed: do not leave the Machine locked
			_ = lease.Release(context.WithoutCancel(ctx))
		}
	}()
	g.step("lease taken: owner %s, nonce %.4s..., until %s", lease.Owner, lease.Nonce(), lease.ExpiresAt().UTC().Format(time.TimeOnly))

	m, err := g.get(ctx, id)
	if err != nil {
		return err
	}
	setEnv := func(conf *models.FlyMachineConfig) { conf.Env["LEASED_CHANGE"] = "yes" }

	// Without the nonce: refused, 409 with who holds the lease.
	_, err = g.update(ctx, m, setEnv)
	switch held, isHeld := errors.AsType[*flymachines.LeaseHeldError](err); {
	case isHeld:
		g.step("update without the nonce refused: lease held by %s", held.Owner)
	case err == nil:
		g.step("update without the nonce accepted: this API does not enforce leases")
	default:
		return err
	}

	// With the nonce: lease.Context returns a context that makes every
	// change to this Machine carry the fly-machine-lease-nonce header.
	updated, err := g.update(lease.Context(ctx), m, setEnv)
	if err != nil {
		return fmt.Errorf("update with the lease's nonce: %w", err)
	}
	if err := g.c.WaitStarted(ctx, g.app, id, flymachines.WithInstanceID(updated.InstanceID)); err != nil {
		return err
	}
	g.step("update with the nonce accepted: instance %s", updated.InstanceID)

	if err := lease.Release(ctx); err != nil {
		return err
	}
	released = true
	g.step("lease released")
	return nil
}

func (g *guide) get(ctx context.Context, id string) (*models.Machine, error) {
	return g.c.Machines.Show(ctx, g.app, id, nil)
}

// update sends m's config, changed by change, as the Machine's new
// config. m is not modified.
func (g *guide) update(ctx context.Context, m *models.Machine, change func(*models.FlyMachineConfig)) (*models.Machine, error) {
	conf := *m.Config // a copy of what change may touch: the guest and env
	guest := models.FlyMachineGuest{}
	if conf.Guest != nil {
		guest = *conf.Guest
	}
	conf.Guest = &guest
	conf.Env = maps.Clone(conf.Env)
	if conf.Env == nil {
		conf.Env = map[string]string{}
	}
	change(&conf)
	return g.c.Machines.Update(ctx, g.app, m.ID, &models.UpdateMachineRequest{Config: &conf}, nil)
}

// deleteApp deletes the app with force, so a Machine left goes with it,
// even after the caller's context ended.
func (g *guide) deleteApp() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := g.c.Apps.Delete(ctx, g.app, &apps.DeleteParams{Force: true})
	if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		return fmt.Errorf("deleting app %s: %w", g.app, err)
	}
	g.step("app %s deleted", g.app)
	return nil
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
