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
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/internal/sandbox"
	"github.com/flymachines/flymachines-go/models"
)

func main() { sandbox.Main("api-guide", run) }

func run(ctx context.Context, out io.Writer, args []string) error {
	cfg := sandbox.FromEnv()
	fs := flag.NewFlagSet("api-guide", flag.ContinueOnError)
	fs.SetOutput(out)
	app := fs.String("app", "", "`name` of the app to create (default: api-guide-<random>)")
	fs.StringVar(&cfg.Org, "org", cfg.Org, "organization `slug` of the app (env FLY_ORG; default personal)")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "`region` of the Machine (env FLY_REGION; default: the API's choice)")
	image := fs.String("image", "flyio/fastify-functions", "Docker `image`: an HTTP server on port 8080")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return sandbox.ErrUsage
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
	shown, err := c.Apps.AppsShowContext(ctx, apps.NewAppsShowParams().WithAppName(g.app), nil)
	if err != nil {
		return err
	}
	a := shown.GetPayload()
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
	stop := machines.NewMachinesStopParams().WithAppName(g.app).WithMachineID(m.ID)
	if _, err := c.Machines.MachinesStopContext(ctx, stop, nil); err != nil {
		return err
	}
	if err := c.WaitStopped(ctx, g.app, m.ID, flymachines.WithInstanceID(updated.InstanceID)); err != nil {
		return err
	}
	g.step("machine %s stopped", m.ID)

	// Start it again: fast, since everything is in place already.
	start := machines.NewMachinesStartParams().WithAppName(g.app).WithMachineID(m.ID)
	started, err := c.Machines.MachinesStartContext(ctx, start, nil)
	if err != nil {
		return err
	}
	if err := c.WaitStarted(ctx, g.app, m.ID); err != nil {
		return err
	}
	g.step("machine %s started (previous state %s)", m.ID, started.GetPayload().PreviousState)

	// List the app's Machines.
	list, err := c.Machines.MachinesListContext(ctx, machines.NewMachinesListParams().WithAppName(g.app), nil)
	if err != nil {
		return err
	}
	for _, lm := range list.GetPayload() {
		g.step("listed machine %s (%s) in %s: %s", lm.ID, lm.Name, lm.Region, lm.State)
	}

	// Leases: while one is held, the API refuses changes to the Machine
	// that do not carry its nonce, even from the same token.
	if err := g.leased(ctx, m.ID); err != nil {
		return err
	}

	// Delete the Machine. It runs, hence force, which stops it first.
	del := machines.NewMachinesDeleteParams().WithAppName(g.app).WithMachineID(m.ID).WithForce(new(true))
	if _, err := c.Machines.MachinesDeleteContext(ctx, del, nil); err != nil {
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
	res, err := g.c.Machines.MachinesShowContext(ctx, machines.NewMachinesShowParams().WithAppName(g.app).WithMachineID(id), nil)
	if err != nil {
		return nil, err
	}
	return res.GetPayload(), nil
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
	params := machines.NewMachinesUpdateParams().WithAppName(g.app).WithMachineID(m.ID).
		WithBody(&models.UpdateMachineRequest{Config: &conf})
	res, err := g.c.Machines.MachinesUpdateContext(ctx, params, nil)
	if err != nil {
		return nil, err
	}
	return res.GetPayload(), nil
}

// deleteApp deletes the app with force, so a Machine left goes with it,
// even after the caller's context ended.
func (g *guide) deleteApp() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	params := apps.NewAppsDeleteParams().WithAppName(g.app).WithForce(new(true))
	if _, err := g.c.Apps.AppsDeleteContext(ctx, params, nil); err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		return fmt.Errorf("deleting app %s: %w", g.app, err)
	}
	g.step("app %s deleted", g.app)
	return nil
}

func ms(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
