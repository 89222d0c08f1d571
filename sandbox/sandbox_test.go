package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// noToken makes sure no test reaches Fly, whatever the caller's shell has.
func noToken(t *testing.T) {
	t.Setenv(flymachines.EnvAPIToken, "")
	t.Setenv(flymachines.EnvAccessToken, "")
	t.Setenv(flymachines.EnvAPIHostname, "")
}

// fast is a Config whose emulator runs jobs quickly.
func fast() Config {
	return Config{TransitionDelay: 5 * time.Millisecond, JobRuntime: 50 * time.Millisecond}
}

func TestConnectStartsTheEmulatorWithoutAToken(t *testing.T) {
	noToken(t)
	ctx := context.Background()
	var out bytes.Buffer
	cfg := fast()
	cfg.Out, cfg.AppPrefix = &out, "sandbox-test"
	env, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if !env.Emulator || env.Region != EmulatorRegion || env.Org != DefaultOrg {
		t.Errorf("env = %+v, want the emulator in %s, org %s", env, EmulatorRegion, DefaultOrg)
	}
	if !strings.HasPrefix(env.App, "sandbox-test-") || !env.CreatedApp {
		t.Errorf("app %q (created %v), want a fresh sandbox-test-... app", env.App, env.CreatedApp)
	}
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "embedded Machines API emulator at "+env.Endpoint) ||
		!strings.Contains(line, "no FLY_API_TOKEN") {
		t.Errorf("endpoint line %q", line)
	}
	if !strings.HasPrefix(env.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %s, want loopback", env.Endpoint)
	}
	if _, err := env.Client.Apps.Show(ctx, env.App); err != nil {
		t.Errorf("the app is not there: %v", err)
	}

	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if err := env.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond) // the client retries refused connections
	defer cancel()
	_, err = env.Client.Apps.Show(ctx, env.App)
	if err == nil {
		t.Error("the emulator still answers after Close")
	}
}

func TestConnectKeepsAGivenAppName(t *testing.T) {
	noToken(t)
	cfg := fast()
	cfg.App, cfg.Region = "my-jobs", "syd"
	env, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if env.App != "my-jobs" || env.Region != "syd" {
		t.Errorf("app %s region %s", env.App, env.Region)
	}
}

func TestConnectNoApp(t *testing.T) {
	noToken(t)
	cfg := fast()
	cfg.NoApp = true
	env, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if env.App != "" || env.CreatedApp {
		t.Errorf("NoApp: app %q created %v", env.App, env.CreatedApp)
	}
}

func TestConnectForcedEmulatorIgnoresTheToken(t *testing.T) {
	noToken(t)
	t.Setenv(flymachines.EnvAPIToken, "fo1_would-be-a-real-token")
	t.Setenv(flymachines.EnvAPIHostname, "http://127.0.0.1:1") // nothing listens: must not be used
	var out bytes.Buffer
	cfg := fast()
	cfg.Emulator, cfg.Out = true, &out
	env, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if !env.Emulator || !strings.Contains(out.String(), "FLY_API_TOKEN is set but not used") {
		t.Errorf("emulator %v, line %q", env.Emulator, out.String())
	}
}

// The token path is tested against an emulator standing in for Fly, with
// FLY_API_HOSTNAME pointing at it.
func flyStandIn(t *testing.T) *flytest.Server {
	t.Helper()
	noToken(t)
	srv := flytest.NewServer(t, EmulatorOptions(fast())...)
	t.Setenv(flymachines.EnvAccessToken, "fo1_stand-in-token")
	t.Setenv(flymachines.EnvAPIHostname, srv.URL())
	return srv
}

func appExists(t *testing.T, c *flymachines.Client, name string) bool {
	t.Helper()
	_, err := c.Apps.Show(context.Background(), name)
	if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func TestConnectWithATokenCreatesAndDeletesAThrowawayApp(t *testing.T) {
	srv := flyStandIn(t)
	var out bytes.Buffer
	env, err := Connect(context.Background(), Config{Out: &out, Org: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if env.Emulator || env.Endpoint != srv.URL() || env.Region != "" {
		t.Errorf("env = %+v, want the API at %s with no region", env, srv.URL())
	}
	if !strings.Contains(out.String(), "Fly Machines API at "+srv.URL()) || !strings.Contains(out.String(), "FLY_ACCESS_TOKEN") {
		t.Errorf("endpoint line %q", out.String())
	}
	if !env.CreatedApp || !appExists(t, env.Client, env.App) {
		t.Fatalf("throwaway app %q not created", env.App)
	}
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if appExists(t, env.Client, env.App) {
		t.Error("Close left the throwaway app")
	}
}

func TestConnectWithATokenKeepApp(t *testing.T) {
	flyStandIn(t)
	env, err := Connect(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	env.KeepApp()
	if err := env.Close(); err != nil {
		t.Fatal(err)
	}
	if !appExists(t, env.Client, env.App) {
		t.Error("KeepApp: Close deleted the app")
	}
}

func TestConnectWithATokenUsesAnExistingApp(t *testing.T) {
	flyStandIn(t)
	ctx := context.Background()
	env, err := Connect(ctx, Config{NoApp: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CreateApp(ctx, &models.CreateAppRequest{Name: "existing-app", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}

	env2, err := Connect(ctx, Config{App: "existing-app"})
	if err != nil {
		t.Fatal(err)
	}
	if env2.CreatedApp {
		t.Error("an existing app counts as created")
	}
	env2.Close()
	if !appExists(t, env.Client, "existing-app") {
		t.Error("Close deleted an app it did not create")
	}

	_, err = Connect(ctx, Config{App: "missing-app"})
	if err == nil || !strings.Contains(err.Error(), `app "missing-app" not found`) {
		t.Errorf("missing app: err = %v", err)
	}
}

func TestConnectWithABadToken(t *testing.T) {
	noToken(t)
	t.Setenv(flymachines.EnvAPIToken, "short")
	if _, err := Connect(context.Background(), Config{}); !errors.Is(err, flymachines.ErrInvalidToken) {
		t.Errorf("err = %v, want ErrInvalidToken", err)
	}
}

func TestEmulatorRunsCommandsAsJobs(t *testing.T) {
	noToken(t)
	ctx := context.Background()
	env, err := Connect(ctx, fast())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() }) // after the parallel subtests
	for _, tc := range []struct {
		name string
		init models.FlyMachineInit
		want int
	}{
		{"cmd exit 3", models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 3"}}, 3},
		{"cmd no exit", models.FlyMachineInit{Cmd: []string{"echo", "hello"}}, 0},
		{"exec exit 0", models.FlyMachineInit{Exec: []string{"/bin/sh", "-c", "echo done; exit 0"}}, 0},
		{"exec wins", models.FlyMachineInit{Exec: []string{"sh", "-c", "exit 42"}, Cmd: []string{"sh", "-c", "exit 1"}}, 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "alpine:3.20", Init: &tc.init}}
			res, err := env.Client.RunJob(ctx, env.App, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Exit.ExitCode != tc.want || res.Destroyed != (tc.want == 0) {
				t.Errorf("exit %d destroyed %v, want exit %d", res.Exit.ExitCode, res.Destroyed, tc.want)
			}
		})
	}
}

func TestEmulatorRunsServicesUntilStopped(t *testing.T) {
	noToken(t)
	ctx := context.Background()
	env, err := Connect(ctx, fast())
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	m, err := env.Client.CreateMachine(ctx, env.App, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
		Image:    "nginx",
		Services: []*models.FlyMachineService{{Protocol: "tcp", InternalPort: 8080, Ports: []*models.FlyMachinePort{{Port: 80, Handlers: []string{"http"}}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.WaitStarted(ctx, env.App, m.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * fast().JobRuntime)
	got, err := env.Client.Machines.Show(ctx, env.App, m.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != flymachines.StateStarted {
		t.Errorf("a service machine is %s after a while, want started", got.State)
	}
}

func TestCommandExit(t *testing.T) {
	for _, tc := range []struct {
		init   *models.FlyMachineInit
		code   int
		hasCmd bool
	}{
		{nil, 0, false},
		{&models.FlyMachineInit{}, 0, false},
		{&models.FlyMachineInit{Entrypoint: []string{"/entry"}}, 0, false},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 3"}}, 3, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "echo hi; exit 2;"}}, 2, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "make && exit 7 "}}, 7, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 256"}}, 0, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 300"}}, 44, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 3; echo later"}}, 0, true},
		{&models.FlyMachineInit{Cmd: []string{"./exiter", "5"}}, 0, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit", "4"}}, 4, true},
		{&models.FlyMachineInit{Exec: []string{"exit 9"}}, 9, true},
		{&models.FlyMachineInit{Cmd: []string{"sh", "-c", "reexit 3"}}, 0, true},
	} {
		code, ok := commandExit(&models.FlyMachineConfig{Init: tc.init})
		if code != tc.code || ok != tc.hasCmd {
			t.Errorf("%+v: got %d %v, want %d %v", tc.init, code, ok, tc.code, tc.hasCmd)
		}
	}
	if _, ok := commandExit(nil); ok {
		t.Error("a nil config runs a command")
	}
}

func TestNewAppName(t *testing.T) {
	a, b := NewAppName("x"), NewAppName("x")
	if a == b || len(a) != len("x-")+6 || !strings.HasPrefix(a, "x-") {
		t.Errorf("names %q %q", a, b)
	}
}

// countingTransport counts the requests that go through it.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// Config.ClientOptions reach the client on either path, after Connect's
// own (so that they win over them).
func TestConnectAppliesClientOptions(t *testing.T) {
	for _, onFly := range []bool{false, true} {
		t.Run(map[bool]string{false: "emulator", true: "token"}[onFly], func(t *testing.T) {
			noToken(t)
			if onFly {
				flyStandIn(t)
			}
			rt := &countingTransport{next: http.DefaultTransport}
			cfg := fast()
			cfg.ClientOptions = []flymachines.Option{flymachines.WithHTTPClient(&http.Client{Transport: rt})}
			env, err := Connect(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer env.Close()
			if env.Emulator == onFly {
				t.Fatalf("emulator %v, want %v", env.Emulator, !onFly)
			}
			if rt.n.Load() == 0 {
				t.Error("the app was made without the HTTP client of the options")
			}
		})
	}
}
