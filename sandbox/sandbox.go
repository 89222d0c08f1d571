// Package sandbox gives a program a Machines API to talk to: Fly's own when
// an API token is set, or else the flytest emulator served in this
// process, primed so that jobs behave as they would on Fly (see
// EmulatorOptions). Either way the program gets a *flymachines.Client and
// an app to work in, and makes the same calls: the examples and the
// flymachines command run anywhere, with or without a Fly.io account.
//
//	env, err := sandbox.Connect(ctx, sandbox.FromEnv())
//	if err != nil {
//		return err
//	}
//	defer env.Close() // deletes the throwaway app, stops the emulator
//	res, err := env.Client.RunJob(ctx, env.App, req)
//
// It is for demos, examples and development loops: a service that always
// talks to Fly needs only flymachines.New. Package sandboxtest serves the
// same emulator in tests, standing in for Fly.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// Environment variables that FromEnv reads, for the callers' flag defaults.
const (
	EnvApp    = "FLY_APP"
	EnvOrg    = "FLY_ORG"
	EnvRegion = "FLY_REGION"
)

// Defaults of Connect.
const (
	DefaultOrg       = "personal"
	DefaultAppPrefix = "flymachines"
	// EmulatorRegion is where the emulator puts Machines created without
	// a region.
	EmulatorRegion = "ord"
	// DefaultTransitionDelay is how long each transient Machine state
	// (created, starting, stopping, ...) lasts on the emulator.
	DefaultTransitionDelay = 30 * time.Millisecond
	// DefaultJobRuntime is how long a command runs on the emulator before
	// it exits.
	DefaultJobRuntime = 400 * time.Millisecond
)

// emulatorToken is what the client sends to the embedded emulator, which
// accepts any well-formed token.
const emulatorToken = "sandbox-emulator-token"

// Config says what Connect connects to and which app it prepares.
type Config struct {
	// App is the app to work in. On Fly it must exist; on the emulator it
	// is created. Empty: Connect creates an app with a fresh name (see
	// AppPrefix), which Close deletes again.
	App string
	// Org is the organization slug of apps created here (default
	// DefaultOrg).
	Org string
	// Region is the region Machines go to; empty leaves the choice to the
	// API (the emulator's is EmulatorRegion, which Env.Region then says).
	Region string
	// Emulator uses the embedded emulator even when a token is set.
	Emulator bool
	// NoApp is for callers that create and delete apps themselves: Connect
	// then neither checks nor creates one, and Env.App is App as given.
	NoApp bool
	// AppPrefix starts the names of apps created here (default
	// DefaultAppPrefix): "<prefix>-<6 hex digits>".
	AppPrefix string
	// Out receives the line saying which endpoint is used; nil: none.
	Out io.Writer

	// TransitionDelay and JobRuntime tune the emulator (defaults
	// DefaultTransitionDelay and DefaultJobRuntime).
	TransitionDelay time.Duration
	JobRuntime      time.Duration

	// ClientOptions are added to the client's options, last: a logger,
	// say, or flymachines.WithoutRateLimits for a test against an
	// emulator standing in for Fly.
	ClientOptions []flymachines.Option
}

// FromEnv is a Config with App, Org and Region from FLY_APP, FLY_ORG and
// FLY_REGION: the defaults of the callers' -app, -org and -region flags.
func FromEnv() Config {
	return Config{
		App:    strings.TrimSpace(os.Getenv(EnvApp)),
		Org:    strings.TrimSpace(os.Getenv(EnvOrg)),
		Region: strings.TrimSpace(os.Getenv(EnvRegion)),
	}
}

// Env is a connected client and the app it works in.
type Env struct {
	Client   *flymachines.Client
	App      string // the app to work in ("" only with Config.NoApp and no App)
	Org      string
	Region   string // "" when the API chooses
	Emulator bool   // true: the embedded emulator, nothing reaches Fly
	Endpoint string // the API's base URL
	// CreatedApp is true when Connect created App; Close deletes it then,
	// unless KeepApp was called.
	CreatedApp bool

	keepApp   bool
	server    *http.Server
	emulator  *flytest.Emulator
	transport *http.Transport
	closeOnce sync.Once
	closeErr  error
}

// Connect returns a client for Fly's Machines API when FLY_API_TOKEN (or
// FLY_ACCESS_TOKEN) is set and cfg.Emulator is not, configured as
// flymachines.New configures itself from the environment. Otherwise it
// serves the emulator on a loopback port, in this process, and returns a
// client for it. Unless cfg.NoApp, it then checks that cfg.App exists (on
// Fly) or creates it (on the emulator, or a fresh app when cfg.App is
// empty). It writes one line to cfg.Out saying which endpoint is used.
// Close the Env when done.
func Connect(ctx context.Context, cfg Config) (*Env, error) {
	if cfg.Org == "" {
		cfg.Org = DefaultOrg
	}
	if cfg.AppPrefix == "" {
		cfg.AppPrefix = DefaultAppPrefix
	}
	tokenVar := tokenVariable()
	var (
		env  *Env
		line string
		err  error
	)
	if cfg.Emulator || tokenVar == "" {
		env, err = startEmulator(cfg)
		if err != nil {
			return nil, err
		}
		why := "no FLY_API_TOKEN is set"
		if tokenVar != "" {
			why = tokenVar + " is set but not used"
		}
		line = fmt.Sprintf("Using the embedded Machines API emulator at %s (%s).", env.Endpoint, why)
	} else {
		env, err = connectFly(cfg)
		if err != nil {
			return nil, err
		}
		line = fmt.Sprintf("Using the Fly Machines API at %s (token from %s).", env.Endpoint, tokenVar)
	}
	if !cfg.NoApp {
		if err := env.prepareApp(ctx, cfg); err != nil {
			env.Close()
			return nil, err
		}
	}
	if cfg.Out != nil {
		fmt.Fprintln(cfg.Out, line)
	}
	return env, nil
}

// tokenVariable names the variable New would take the token from, or "".
func tokenVariable() string {
	for _, name := range []string{flymachines.EnvAPIToken, flymachines.EnvAccessToken} {
		if strings.TrimSpace(os.Getenv(name)) != "" {
			return name
		}
	}
	return ""
}

func connectFly(cfg Config) (*Env, error) {
	c, err := flymachines.New(cfg.ClientOptions...)
	if err != nil {
		return nil, err
	}
	return &Env{Client: c, App: cfg.App, Org: cfg.Org, Region: cfg.Region, Endpoint: c.BaseURL()}, nil
}

func startEmulator(cfg Config) (*Env, error) {
	emu := flytest.New(EmulatorOptions(cfg)...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("sandbox: starting the emulator: %w", err)
	}
	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	// A transport of its own, so Close can drop its connections.
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	opts := append([]flymachines.Option{
		flymachines.WithToken(emulatorToken),
		flymachines.WithBaseURL(base),
		flymachines.WithHTTPClient(&http.Client{Transport: tr}),
		// The emulator enforces no rate limits, so pacing would only slow
		// the flows down.
		flymachines.WithoutRateLimits(),
	}, cfg.ClientOptions...)
	c, err := flymachines.New(opts...)
	env := &Env{Client: c, App: cfg.App, Org: cfg.Org, Region: cfg.Region, Emulator: true,
		Endpoint: base, server: srv, emulator: emu, transport: tr}
	if err != nil {
		env.Close()
		return nil, err
	}
	if env.Region == "" {
		env.Region = EmulatorRegion
	}
	return env, nil
}

// prepareApp makes sure Env.App is there to work in.
func (e *Env) prepareApp(ctx context.Context, cfg Config) error {
	if e.App != "" && !e.Emulator {
		_, err := e.Client.Apps.Show(ctx, e.App)
		if errors.Is(err, flymachines.ErrNotFound) {
			return fmt.Errorf("app %q not found: create it (fly apps create %s) or leave the app empty to use a throwaway one", e.App, e.App)
		}
		return err
	}
	if e.App == "" {
		e.App = NewAppName(cfg.AppPrefix)
	}
	if _, err := e.Client.CreateApp(ctx, &models.CreateAppRequest{Name: e.App, OrgSlug: e.Org}); err != nil {
		return fmt.Errorf("creating app %s: %w", e.App, err)
	}
	e.CreatedApp = true
	return nil
}

// KeepApp makes Close leave the app Connect created, e.g. for a Machine
// kept for inspection.
func (e *Env) KeepApp() { e.keepApp = true }

// Close deletes the app Connect created (unless KeepApp), and stops the
// emulator if there is one. It is safe to call more than once.
func (e *Env) Close() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if e.CreatedApp && !e.keepApp && e.Client != nil {
			// force: the app's Machines go with it.
			err := e.Client.Apps.Delete(ctx, e.App, &apps.DeleteParams{Force: true})
			if err != nil && !errors.Is(err, flymachines.ErrNotFound) {
				e.closeErr = fmt.Errorf("deleting app %s: %w", e.App, err)
			}
		}
		if e.emulator != nil {
			// First the emulator: it ends blocked waits, which Shutdown
			// would otherwise sit out.
			e.emulator.Close()
			if err := e.server.Shutdown(ctx); err != nil {
				_ = e.server.Close()
			}
			e.transport.CloseIdleConnections()
		}
	})
	return e.closeErr
}

// NewAppName is prefix followed by six random hex digits, e.g.
// "flymachines-3fa92c": app names are global on Fly, so a fixed name
// would clash with someone else's.
func NewAppName(prefix string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}
