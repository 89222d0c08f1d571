// Faas runs the Machine side of a functions-as-a-service platform on
// pools of Machines: an app per customer function, and in each region a
// pool of the function's Machines, each an HTTP server behind the Fly
// proxy's HTTP and TLS services. An invocation acquires a Machine of the
// region's pool (a stopped one is started; one is created while the pool
// is below its size), sends it the request, and releases it, stopped, for
// the next. Any number of platform processes, on any hosts, can share the
// pools: a Machine's lease says who has it.
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
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/pool"
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
	f := &faas{c: env.Client, app: *app, out: &syncWriter{w: out}, seen: map[string]bool{}}
	return f.run(ctx, env.Org, *image, []string{cfg.Region, *region2})
}

type faas struct {
	c   *flymachines.Client
	app string
	out io.Writer

	mu   sync.Mutex
	seen map[string]bool // Machines invoked before
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
	defer func() {
		// Whatever happened, take the app down, Machines and all.
		if derr := f.deleteApp(); err == nil {
			err = derr
		}
	}()

	// 2. A pool of the function's Machines in each region, up to two
	// Machines each: requests go to the nearest region's pool.
	pools := map[string]*pool.Pool{}
	for i, region := range regions {
		placement := "primary"
		if i > 0 {
			placement = "nearby"
		}
		p, err := pool.New(f.c, pool.Config{
			App: f.app, Name: "hello-" + region, Regions: []string{region}, Max: 2,
			Config: functionConfig(image, placement),
		})
		if err != nil {
			return err
		}
		pools[region] = p
	}

	// 3. The first invocation in each region creates a Machine (cold);
	// the next finds it stopped and starts it again (warm).
	for _, region := range regions {
		if err := f.invoke(ctx, pools[region], region, "invocation"); err != nil {
			return err
		}
	}
	if err := f.invoke(ctx, pools[regions[0]], regions[0], "again"); err != nil {
		return err
	}

	// 4. Two invocations at once in one region: each has a Machine of its
	// own, the pool grows to two.
	var wg sync.WaitGroup
	claims := make([]*pool.Claim, 2)
	errs := make([]error, 2)
	for i := range claims {
		wg.Go(func() { claims[i], errs[i] = f.acquire(ctx, pools[regions[0]], regions[0], "at once") })
	}
	wg.Wait()
	for _, cl := range claims {
		if cl != nil {
			errs = append(errs, f.release(ctx, cl))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// 5. What the pools hold, and the app's Machines, all of them and then
	// by metadata.
	for _, region := range regions {
		st, err := pools[region].Status(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(f.out, "pool %s: %s, %d free\n", st.Name, countMachines(len(st.Machines)), st.Free)
	}
	if err := f.list(ctx, "all machines of the app", nil); err != nil {
		return err
	}
	if err := f.list(ctx, "machines with placement=nearby", map[string]string{"placement": "nearby"}); err != nil {
		return err
	}

	// 6. Drain the pools, then delete the app (deferred above).
	for _, region := range regions {
		if err := pools[region].Drain(ctx); err != nil {
			return err
		}
		fmt.Fprintf(f.out, "drained pool %s\n", pools[region].Name())
	}
	return nil
}

// invoke handles one invocation in region.
func (f *faas) invoke(ctx context.Context, p *pool.Pool, region, what string) error {
	cl, err := f.acquire(ctx, p, region, what)
	if err != nil {
		return err
	}
	return f.release(ctx, cl)
}

// acquire takes a started Machine of the region's pool for an invocation.
func (f *faas) acquire(ctx context.Context, p *pool.Pool, region, what string) (*pool.Claim, error) {
	t0 := time.Now()
	cl, err := p.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("invoking in %s: %w", region, err)
	}
	m := cl.Machine()
	f.mu.Lock()
	how := "created and started machine"
	if f.seen[m.ID] {
		how = "started machine"
	}
	f.seen[m.ID] = true
	f.mu.Unlock()
	// Here the platform sends the request to the Machine, on the private
	// network (http://[private_ip]:8080) or through the proxy with a
	// fly-force-instance-id header naming it.
	fmt.Fprintf(f.out, "%s in %s: %s %s (%s) in %s\n", what, region, how, m.ID, m.PrivateIP, ms(time.Since(t0)))
	return cl, nil
}

// release gives the Machine back to its pool, stopped.
func (f *faas) release(ctx context.Context, cl *pool.Claim) error {
	if err := cl.Release(ctx); err != nil {
		return fmt.Errorf("releasing machine %s: %w", cl.ID(), err)
	}
	return nil
}

// functionConfig is the Machine config of a function: its image, its
// services, and metadata to find it by. The proxy stops an idle Machine
// (autostop); it does not start one by itself (autostart off): the pool
// starts Machines for the invocations it hands them to.
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
			Autostart: new(false),
		}},
		Metadata: map[string]string{"function": "hello", "placement": placement},
	}
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
	fmt.Fprintln(tw, "  ID\tREGION\tSTATE\tPOOL")
	for _, m := range res {
		var name string
		if m.Config != nil {
			name = m.Config.Metadata[pool.KeyPool]
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.ID, m.Region, m.State, name)
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

// syncWriter lets invocations print at the same time, a line at a time.
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

// countMachines is "1 machine", "2 machines".
func countMachines(n int) string {
	if n == 1 {
		return "1 machine"
	}
	return fmt.Sprintf("%d machines", n)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
