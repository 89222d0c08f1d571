package flymachines_test

// End-to-end tests of the facade against the in-process emulator: real
// HTTP over loopback, the generated client embedded in *Client, the error
// mapper and the wait helpers, with nothing faked on the client side.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

const (
	emuApp   = "e2e-app"
	emuToken = "fo1_emulatorEndToEndToken0123456789"
)

// emuSentinels are the sentinels an *APIError can match, by name, so a
// test can check an error matches exactly the expected ones.
var emuSentinels = map[string]error{
	"ErrNotFound":        flymachines.ErrNotFound,
	"ErrUnauthorized":    flymachines.ErrUnauthorized,
	"ErrConflict":        flymachines.ErrConflict,
	"ErrLeaseHeld":       flymachines.ErrLeaseHeld,
	"ErrCapacity":        flymachines.ErrCapacity,
	"ErrRateLimited":     flymachines.ErrRateLimited,
	"ErrTimeout":         flymachines.ErrTimeout,
	"ErrInvalidArgument": flymachines.ErrInvalidArgument,
	"ErrWrongState":      flymachines.ErrWrongState,
}

func wantExactly(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error matching %v, got nil", want)
	}
	for name, s := range emuSentinels {
		if got := errors.Is(err, s); got != slices.Contains(want, name) {
			t.Errorf("errors.Is(err, %s) = %v, want %v (err: %v)", name, got, !got, err)
		}
	}
}

// apiErr is errors.As to *APIError, failing the test if it is not one.
func apiErr(t *testing.T, err error) *flymachines.APIError {
	t.Helper()
	e, ok := errors.AsType[*flymachines.APIError](err)
	if !ok {
		t.Fatalf("err = %T %v, want an *APIError", err, err)
	}
	return e
}

// memBaseURL is where clients of an in-memory emulator send requests: a
// private-network name, so plain HTTP is allowed, that never resolves.
const memBaseURL = "http://flytest.internal"

// memEmu is an emulator served in memory (internal/inmem), not over a
// socket, so a test can run it inside a testing/synctest bubble, where
// transitions, waits, leases and rate limits follow the fake clock.
type memEmu struct {
	*flytest.Emulator
	transport http.RoundTripper
}

// newMemEmu starts an in-memory emulator; call it inside the bubble.
func newMemEmu(t *testing.T, opts ...flytest.Option) *memEmu {
	t.Helper()
	e := flytest.New(opts...)
	t.Cleanup(e.Close)
	return &memEmu{Emulator: e, transport: inmem.Transport(e)}
}

// options point a client at the emulator.
func (m *memEmu) options() []flymachines.Option {
	return []flymachines.Option{flymachines.WithBaseURL(memBaseURL),
		flymachines.WithHTTPClient(&http.Client{Transport: m.transport})}
}

// newEmu starts an in-memory emulator with quick transitions unless opts
// say otherwise.
func newEmu(t *testing.T, opts ...flytest.Option) *memEmu {
	t.Helper()
	return newMemEmu(t, append([]flytest.Option{flytest.WithTransitionDelay(5 * time.Millisecond)}, opts...)...)
}

// newFacade is a client for srv with emuToken and no client-side rate limits.
func newFacade(t *testing.T, srv *memEmu, opts ...flymachines.Option) *flymachines.Client {
	t.Helper()
	all := append(append([]flymachines.Option{flymachines.WithToken(emuToken)}, srv.options()...), flymachines.WithoutRateLimits())
	c, err := flymachines.New(append(all, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func createApp(t *testing.T, c *flymachines.Client, name string) {
	t.Helper()
	if _, err := c.Apps.Create(testCtx(t, 10*time.Second), &models.CreateAppRequest{Name: name, OrgSlug: "personal"}); err != nil {
		t.Fatalf("create app %s: %v", name, err)
	}
}

func createMachine(t *testing.T, c *flymachines.Client, req *models.CreateMachineRequest) *models.Machine {
	t.Helper()
	m, err := tryCreateMachine(t, c, req)
	if err != nil {
		t.Fatalf("create machine: %v", err)
	}
	return m
}

func tryCreateMachine(t *testing.T, c *flymachines.Client, req *models.CreateMachineRequest) (*models.Machine, error) {
	t.Helper()
	return c.Machines.Create(testCtx(t, 10*time.Second), emuApp, req)
}

// jobRequest is a Machine running image that is not restarted when it ends.
func jobRequest(image string) *models.CreateMachineRequest {
	return &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
		Image:   image,
		Restart: &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo},
	}}
}

// stoppedMachine creates a Machine that is not launched: it stays stopped.
func stoppedMachine(t *testing.T, c *flymachines.Client) *models.Machine {
	t.Helper()
	return createMachine(t, c, &models.CreateMachineRequest{SkipLaunch: true, Config: &models.FlyMachineConfig{Image: "nginx"}})
}

func showMachine(ctx context.Context, c *flymachines.Client, id string) (*models.Machine, error) {
	return c.Machines.Show(ctx, emuApp, id, nil)
}

// headerTap is an http.RoundTripper under the client's chain: it sees the
// request as it goes on the wire and the response as it comes back.
type headerTap struct {
	next      http.RoundTripper
	mu        sync.Mutex
	auth      []string // Authorization of each request
	requestID string   // fly-request-id of the last response
}

func (h *headerTap) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	resp, err := h.next.RoundTrip(r)
	if err == nil {
		h.mu.Lock()
		h.requestID = resp.Header.Get("fly-request-id")
		h.mu.Unlock()
	}
	return resp, err
}

func (h *headerTap) snapshot() ([]string, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.auth), h.requestID
}

// statusLog records the status of each exchange by operation, from the
// client's debug log.
type statusLog struct {
	mu   sync.Mutex
	seen []string // "op status"
}

func (l *statusLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *statusLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *statusLog) WithGroup(string) slog.Handler            { return l }
func (l *statusLog) Handle(_ context.Context, r slog.Record) error {
	var op, status string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "op":
			op = a.Value.String()
		case "status":
			status = a.Value.String()
		}
		return true
	})
	if op != "" && status != "" {
		l.mu.Lock()
		l.seen = append(l.seen, op+" "+status)
		l.mu.Unlock()
	}
	return nil
}

func (l *statusLog) count(entry string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.seen {
		if s == entry {
			n++
		}
	}
	return n
}

// TestEmulatorTokenKinds: every form of token New accepts authenticates
// against an API that knows the bare token, with the scheme of its kind.
func TestEmulatorTokenKinds(t *testing.T) {
	t.Parallel()
	const (
		plain = "fo1_plainAccessToken0123456789abcdef"
		m1r   = "fm1r_readOnlyMacaroon0123456789"
		m1a   = "fm1a_authMacaroon0123456789abc"
		m2    = "fm2_lJPECAAAAAAAAmacaroon0123=="
		mDot  = "m2.discharge0123456789abcdef"
		multi = "fm2_firstPartOfTheList01,fm2_secondPartOfTheList2"
	)
	srv := newEmu(t, flytest.WithTokens(plain, m1r, m1a, m2, mDot, multi))
	cases := []struct {
		name, in string
		kind     flymachines.TokenKind
		header   string
	}{
		{"plain access token", plain, flymachines.TokenBearer, "Bearer " + plain},
		{"Bearer scheme given", "Bearer " + plain, flymachines.TokenBearer, "Bearer " + plain},
		{"bearer scheme, any case", "bEARER " + plain, flymachines.TokenBearer, "Bearer " + plain},
		{"as printed, with a newline", "\n  " + plain + "\n", flymachines.TokenBearer, "Bearer " + plain},
		{"fm1r_ macaroon", m1r, flymachines.TokenMacaroon, "FlyV1 " + m1r},
		{"fm1a_ macaroon", m1a, flymachines.TokenMacaroon, "FlyV1 " + m1a},
		{"fm2_ macaroon", m2, flymachines.TokenMacaroon, "FlyV1 " + m2},
		{"m2. macaroon", mDot, flymachines.TokenMacaroon, "FlyV1 " + mDot},
		{"FlyV1 scheme given", "FlyV1 " + m2, flymachines.TokenMacaroon, "FlyV1 " + m2},
		{"flyv1 scheme, any case", "flyv1 " + m2, flymachines.TokenMacaroon, "FlyV1 " + m2},
		{"comma-joined macaroons", multi, flymachines.TokenMacaroon, "FlyV1 " + multi},
		{"comma-joined, spaces around parts", " fm2_firstPartOfTheList01 , fm2_secondPartOfTheList2 ", flymachines.TokenMacaroon, "FlyV1 " + multi},
		{"FlyV1 scheme and a list", "FlyV1 " + multi, flymachines.TokenMacaroon, "FlyV1 " + multi},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := flymachines.ParseToken(tc.in)
			if err != nil {
				t.Fatalf("ParseToken: %v", err)
			}
			if tok.Kind() != tc.kind {
				t.Errorf("kind = %v, want %v", tok.Kind(), tc.kind)
			}
			tap := &headerTap{next: srv.transport}
			c := newFacade(t, srv, flymachines.WithToken(tc.in), flymachines.WithHTTPClient(&http.Client{Transport: tap}))
			name := "tok-app-" + string(rune('a'+i))
			createApp(t, c, name)
			if _, err := c.Apps.Show(testCtx(t, 10*time.Second), name); err != nil {
				t.Fatalf("show app: %v", err)
			}
			auth, _ := tap.snapshot()
			for _, h := range auth {
				if h != tc.header {
					t.Errorf("Authorization = %q, want %q", h, tc.header)
				}
			}
		})
	}

	// A token the API does not know: ErrUnauthorized, whatever its kind.
	for _, in := range []string{"fo1_someoneElsesToken0123456", "fm2_someoneElsesMacaroon0123"} {
		c := newFacade(t, srv, flymachines.WithToken(in))
		_, err := showMachine(testCtx(t, 10*time.Second), c, "0123456789abcd")
		wantExactly(t, err, "ErrUnauthorized")
		if e := apiErr(t, err); e.StatusCode != http.StatusUnauthorized || strings.Contains(e.Error(), "someoneElse") {
			t.Errorf("unknown token: %v", e)
		}
	}
}

// TestEmulatorCreateAppAndMachine drives the embedded generated client:
// an app, a Machine in it, and the wait for it to start.
func TestEmulatorCreateAppAndMachine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c := newFacade(t, srv)
		ctx := testCtx(t, 30*time.Second)
		createApp(t, c, emuApp)

		shown, err := c.Apps.Show(ctx, emuApp)
		if err != nil || shown.Name != emuApp {
			t.Fatalf("show app: %v, %v", shown, err)
		}

		m := createMachine(t, c, &models.CreateMachineRequest{
			Name:   "web-1",
			Region: "cdg",
			Config: &models.FlyMachineConfig{
				Image:    "registry.fly.io/e2e-app:deployment-01",
				Env:      map[string]string{"APP_ENV": "test"},
				Guest:    &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 512},
				Metadata: map[string]string{"role": "web"},
			},
		})
		if m.ID == "" || m.Name != "web-1" || m.Region != "cdg" || m.InstanceID == "" {
			t.Fatalf("created: %+v", m)
		}
		if m.Config == nil || m.Config.Image != "registry.fly.io/e2e-app:deployment-01" || m.Config.Env["APP_ENV"] != "test" {
			t.Errorf("config read back: %+v", m.Config)
		}
		if err := c.WaitStarted(ctx, emuApp, m.ID, flymachines.WithInstanceID(m.InstanceID)); err != nil {
			t.Fatalf("wait started: %v", err)
		}
		got, err := showMachine(ctx, c, m.ID)
		if err != nil || got.State != flymachines.StateStarted {
			t.Fatalf("after the wait: %+v, %v", got, err)
		}

		list, err := c.Machines.List(ctx, emuApp, &machines.ListParams{Metadata: map[string]string{"role": "web"}})
		if err != nil || len(list) != 1 || list[0].ID != m.ID {
			t.Fatalf("list by metadata: %v, %v", list, err)
		}
		if other, err := c.Machines.List(ctx, emuApp, &machines.ListParams{Metadata: map[string]string{"role": "db"}}); err != nil || len(other) != 0 {
			t.Fatalf("list by other metadata: %v, %v", other, err)
		}

		// Stop, wait for it, then destroy and wait for that.
		if err := c.Machines.Stop(ctx, emuApp, m.ID, nil, nil); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if err := c.WaitStopped(ctx, emuApp, m.ID); err != nil {
			t.Fatalf("wait stopped: %v", err)
		}
		if err := c.Machines.Delete(ctx, emuApp, m.ID, nil); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		if err := c.WaitDestroyed(ctx, emuApp, m.ID); err != nil {
			t.Fatalf("wait destroyed: %v", err)
		}
	})
}

// TestEmulatorSentinels: each sentinel the emulator can provoke, end to
// end, matched exactly (no sentinel more, none less).
func TestEmulatorSentinels(t *testing.T) {
	t.Parallel()
	// Each case runs in a bubble of its own, on an emulator of its own.
	run := func(name string, f func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv := newEmu(t, flytest.WithCapacityError("ams"))
				c := newFacade(t, srv, flymachines.WithoutRetries())
				createApp(t, c, emuApp)
				f(t, testCtx(t, 30*time.Second), srv, c)
			})
		})
	}

	run("ErrNotFound", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		_, err := showMachine(ctx, c, "0123456789abcd")
		wantExactly(t, err, "ErrNotFound")
		if e := apiErr(t, err); e.StatusCode != 404 || e.Op != "Machines_show" || e.Message == "" {
			t.Errorf("%+v", e)
		}
		_, err = c.Apps.Show(ctx, "no-such-app")
		wantExactly(t, err, "ErrNotFound")
	})

	run("ErrUnauthorized", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		locked := newEmu(t, flytest.WithTokens("fo1_theOnlyGoodToken0123"))
		bad := newFacade(t, locked, flymachines.WithToken("fo1_notTheGoodToken0123"))
		_, err := bad.Apps.Show(ctx, emuApp)
		wantExactly(t, err, "ErrUnauthorized")
		if e := apiErr(t, err); e.StatusCode != http.StatusUnauthorized {
			t.Errorf("%+v", e)
		}
	})

	run("ErrConflict/app name taken", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		_, err := c.Apps.Create(ctx, &models.CreateAppRequest{Name: emuApp, OrgSlug: "personal"})
		// 422 is an invalid argument too; name_taken makes it a conflict.
		wantExactly(t, err, "ErrConflict", "ErrInvalidArgument")
		if e := apiErr(t, err); e.Status != string(models.MainStatusCodeNameTaken) || e.StatusCode != 422 {
			t.Errorf("%+v", e)
		}
	})

	run("ErrConflict/machine name taken", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		req := &models.CreateMachineRequest{Name: "only-one", SkipLaunch: true, Config: &models.FlyMachineConfig{Image: "nginx"}}
		createMachine(t, c, req)
		_, err := tryCreateMachine(t, c, req)
		wantExactly(t, err, "ErrConflict", "ErrInvalidArgument")
		if e := apiErr(t, err); e.Status != string(models.MainStatusCodeNameTaken) {
			t.Errorf("%+v", e)
		}
	})

	run("ErrConflict/failed precondition", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		m := stoppedMachine(t, c)
		if err := c.Machines.Stop(ctx, emuApp, m.ID, nil, nil); err != nil {
			t.Fatalf("stop of a stopped Machine: %v", err)
		}
		// Restarting a stopped Machine is refused: 412 failed_precondition.
		err := c.Machines.Restart(ctx, emuApp, m.ID, nil)
		wantExactly(t, err, "ErrConflict", "ErrWrongState")
		if e := apiErr(t, err); e.StatusCode != http.StatusPreconditionFailed || !strings.Contains(e.Message, "failed_precondition") {
			t.Errorf("%+v", e)
		}
	})

	run("ErrCapacity/machine", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		_, err := tryCreateMachine(t, c, &models.CreateMachineRequest{Region: "ams", Config: &models.FlyMachineConfig{Image: "nginx"}})
		// The API answers 412, which the package documents as a conflict.
		wantExactly(t, err, "ErrCapacity", "ErrConflict")
		if e := apiErr(t, err); e.Status != string(models.MainStatusCodeInsufficientCapacity) || e.StatusCode != 412 {
			t.Errorf("%+v", e)
		}
		// The region frees up at run time.
		srv.SetRegionCapacity("ams", true)
		defer srv.SetRegionCapacity("ams", false)
		if _, err := tryCreateMachine(t, c, &models.CreateMachineRequest{Region: "ams", SkipLaunch: true, Config: &models.FlyMachineConfig{Image: "nginx"}}); err != nil {
			t.Errorf("after SetRegionCapacity: %v", err)
		}
	})

	run("ErrCapacity/volume placement", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		create := func() error {
			_, err := c.Volumes.Create(ctx, emuApp, &models.CreateVolumeRequest{Name: "pg", Region: "fra", RequireUniqueZone: new(true)})
			return err
		}
		var err error
		for range 10 {
			if err = create(); err != nil {
				break
			}
		}
		wantExactly(t, err, "ErrCapacity", "ErrInvalidArgument")
		if e := apiErr(t, err); e.Status != string(models.MainStatusCodeVolumePlacementCapacity) {
			t.Errorf("%+v", e)
		}
	})

	run("ErrRateLimited", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		m := stoppedMachine(t, c)
		id := srv.InjectFault("Machines_show", flytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 7 * time.Second, Times: 1})
		defer srv.RemoveFault(id)
		_, err := showMachine(ctx, c, m.ID)
		wantExactly(t, err, "ErrRateLimited")
		e := apiErr(t, err)
		if e.StatusCode != 429 || e.RetryAfter != 7*time.Second || !strings.Contains(e.Error(), "retry after 7s") {
			t.Errorf("%+v: %v", e, e)
		}
		if hits := srv.FaultHits(id); hits != 1 {
			t.Errorf("fault hit %d times, want 1 (WithoutRetries)", hits)
		}
	})

	run("ErrTimeout/one wait call", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		m := stoppedMachine(t, c)
		_, err := c.Machines.Wait(ctx, emuApp, m.ID, &machines.WaitParams{State: []string{"started"}, Timeout: 1})
		wantExactly(t, err, "ErrTimeout")
		if e := apiErr(t, err); e.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%+v", e)
		}
	})

	run("ErrTimeout/wait deadline", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		m := stoppedMachine(t, c)
		wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := c.WaitStarted(wctx, emuApp, m.ID, flymachines.WithWaitCallTimeout(time.Second))
		wantExactly(t, err, "ErrTimeout")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded too", err)
		}
		var we *flymachines.WaitError
		if !errors.As(err, &we) || we.MachineID != m.ID || we.LastState != flymachines.StateStopped {
			t.Errorf("err = %#v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the wait outlived its deadline by far: %s", took)
		}
	})

	run("ErrInvalidArgument/no image", func(t *testing.T, ctx context.Context, srv *memEmu, c *flymachines.Client) {
		_, err := tryCreateMachine(t, c, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Env: map[string]string{"A": "b"}}})
		wantExactly(t, err, "ErrInvalidArgument")
		if e := apiErr(t, err); e.StatusCode != http.StatusBadRequest || !strings.Contains(e.Message, "image") {
			t.Errorf("%+v", e)
		}
		_, err = tryCreateMachine(t, c, &models.CreateMachineRequest{})
		wantExactly(t, err, "ErrInvalidArgument")
	})
}

// TestEmulatorLeaseHeld: a Machine leased by one token refuses changes
// from another, and the error names the holder and the expiry.
func TestEmulatorLeaseHeld(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const (
			aliceToken = "fo1_aliceHoldsTheLease0123"
			bobToken   = "fo1_bobWantsTheMachine0123"
		)
		clock := flytest.NewFakeClock(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
		srv := newEmu(t, flytest.WithClock(clock), flytest.WithLeaseOwner(aliceToken, "alice@example.com"))
		alice := newFacade(t, srv, flymachines.WithToken(aliceToken))
		bob := newFacade(t, srv, flymachines.WithToken(bobToken), flymachines.WithoutRetries())
		ctx := testCtx(t, 30*time.Second)
		createApp(t, alice, emuApp)
		m := createMachine(t, alice, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}})
		if err := alice.WaitStarted(ctx, emuApp, m.ID); err != nil {
			t.Fatal(err)
		}

		leaseReq := &models.CreateLeaseRequest{TTL: 120}
		lease, err := alice.Leases.Create(ctx, emuApp, m.ID, leaseReq, nil)
		if err != nil {
			t.Fatal(err)
		}
		nonce := lease.Data.Nonce

		err = bob.Machines.Stop(ctx, emuApp, m.ID, nil, nil)
		wantExactly(t, err, "ErrConflict", "ErrLeaseHeld")
		var held *flymachines.LeaseHeldError
		if !errors.As(err, &held) {
			t.Fatalf("err = %v, want a *LeaseHeldError", err)
		}
		if want := clock.Now().Add(120 * time.Second); held.Owner != "alice@example.com" || !held.ExpiresAt.Equal(want) {
			t.Errorf("lease held by %q until %v, want alice@example.com until %v", held.Owner, held.ExpiresAt, want)
		}
		if e := apiErr(t, err); e.StatusCode != http.StatusConflict || e.Op != "Machines_stop" {
			t.Errorf("%+v", e)
		}
		if strings.Contains(err.Error(), "aliceHolds") || strings.Contains(err.Error(), "bobWants") {
			t.Errorf("a token in %q", err)
		}

		// Bob taking the lease himself fails the same way.
		_, err = bob.Leases.Create(ctx, emuApp, m.ID, leaseReq, nil)
		if !errors.As(err, &held) || held.Owner != "alice@example.com" {
			t.Errorf("second lease: %v", err)
		}

		// Alice, with the nonce, may stop it; once the lease expires, so may Bob.
		if err := alice.Machines.Stop(ctx, emuApp, m.ID, nil, &machines.StopParams{LeaseNonce: nonce}); err != nil {
			t.Fatalf("the holder's stop: %v", err)
		}
		clock.Advance(121 * time.Second)
		if err := bob.Machines.Stop(ctx, emuApp, m.ID, nil, nil); err != nil {
			t.Errorf("stop after the lease expired: %v", err)
		}
	})
}

// TestEmulatorRequestID: the fly-request-id of the answer is the one the
// error reports.
func TestEmulatorRequestID(t *testing.T) {
	t.Parallel()
	srv := newEmu(t)
	tap := &headerTap{next: srv.transport}
	c := newFacade(t, srv, flymachines.WithHTTPClient(&http.Client{Transport: tap}))
	_, err := c.Apps.Show(testCtx(t, 10*time.Second), "no-such-app")
	e := apiErr(t, err)
	_, id := tap.snapshot()
	if id == "" || e.RequestID != id {
		t.Fatalf("RequestID = %q, the response said %q", e.RequestID, id)
	}
	if !strings.Contains(e.Error(), "[fly-request-id "+id+"]") {
		t.Errorf("Error() = %q, without the request id", e.Error())
	}
}

// TestEmulatorWaitAcross408s: a wait outlasting several server-side wait
// calls (1 s each) goes on after each 408 until the state is reached.
func TestEmulatorWaitAcross408s(t *testing.T) {
	t.Parallel()
	t.Run("stopped, by a job that ends later", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			srv := newEmu(t, flytest.WithImageBehavior("job", flytest.ExitAfter(2500*time.Millisecond, 0)))
			log := &statusLog{}
			c := newFacade(t, srv, flymachines.WithLogger(slog.New(log)))
			createApp(t, c, emuApp)
			m := createMachine(t, c, jobRequest("job"))
			ctx := testCtx(t, 30*time.Second)
			if err := c.WaitStarted(ctx, emuApp, m.ID); err != nil {
				t.Fatal(err)
			}
			res, err := c.WaitForState(ctx, emuApp, m.ID, []string{flymachines.StateStopped}, flymachines.WithWaitCallTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if res.State != flymachines.StateStopped || res.EventID == "" {
				t.Errorf("result: %+v", res)
			}
			if n := log.count("Machines_wait 408"); n < 2 {
				t.Errorf("%d wait calls answered 408, want at least 2 (log: %v)", n, log.seen)
			}
			if got, _ := showMachine(ctx, c, m.ID); got == nil || got.State != flymachines.StateStopped {
				t.Errorf("after the wait: %+v", got)
			}
		})
	})
	t.Run("started, after slow transitions", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			srv := newMemEmu(t, flytest.WithTransitionDelay(1300*time.Millisecond))
			log := &statusLog{}
			c := newFacade(t, srv, flymachines.WithLogger(slog.New(log)))
			createApp(t, c, emuApp)
			m := createMachine(t, c, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}})
			res, err := c.WaitForState(testCtx(t, 30*time.Second), emuApp, m.ID, []string{flymachines.StateStarted}, flymachines.WithWaitCallTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if res.State != flymachines.StateStarted {
				t.Errorf("result: %+v", res)
			}
			if n := log.count("Machines_wait 408"); n < 2 {
				t.Errorf("%d wait calls answered 408, want at least 2 (log: %v)", n, log.seen)
			}
			// After each 408 the helper checks the Machine is still alive.
			if w, s := log.count("Machines_wait 408"), log.count("Machines_show 200"); s < w {
				t.Errorf("%d lookups after %d 408s", s, w)
			}
		})
	})
}

// TestEmulatorWaitMachineDestroyed: a Machine destroyed while a wait for
// another state is under way ends the wait with ErrMachineDestroyed.
func TestEmulatorWaitMachineDestroyed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c := newFacade(t, srv)
		createApp(t, c, emuApp)
		m := stoppedMachine(t, c)
		ctx := testCtx(t, 30*time.Second)

		go func() {
			time.Sleep(150 * time.Millisecond)
			if err := c.Machines.Delete(ctx, emuApp, m.ID, nil); err != nil {
				t.Errorf("destroy: %v", err)
			}
		}()
		start := time.Now()
		err := c.WaitStarted(ctx, emuApp, m.ID)
		if !errors.Is(err, flymachines.ErrMachineDestroyed) {
			t.Fatalf("err = %v, want ErrMachineDestroyed", err)
		}
		var we *flymachines.WaitError
		if !errors.As(err, &we) || we.LastState != flymachines.StateDestroyed || !slices.Equal(we.States, []string{"started"}) {
			t.Errorf("err = %#v", err)
		}
		if errors.Is(err, flymachines.ErrTimeout) {
			t.Errorf("err = %v matches ErrTimeout", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("took %s to notice", took)
		}

		// Waiting for destroyed on it now succeeds at once.
		if err := c.WaitDestroyed(ctx, emuApp, m.ID); err != nil {
			t.Errorf("wait destroyed: %v", err)
		}
	})
}

// TestEmulatorWaitCancelled: cancelling the context ends a wait that is
// blocked in a server-side wait call, promptly.
func TestEmulatorWaitCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c := newFacade(t, srv)
		createApp(t, c, emuApp)
		m := stoppedMachine(t, c)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(150*time.Millisecond, cancel)
		start := time.Now()
		err := c.WaitStarted(ctx, emuApp, m.ID) // a 60 s server-side wait
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var we *flymachines.WaitError
		if !errors.As(err, &we) {
			t.Errorf("err = %T", err)
		}
		if errors.Is(err, flymachines.ErrTimeout) || errors.Is(err, flymachines.ErrMachineDestroyed) {
			t.Errorf("err = %v matches more than cancellation", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("cancellation took %s to end the wait", took)
		}
	})
}

// TestEmulatorWaitForExit: a job's exit code and an OOM kill, read from
// the emulator's exit events.
func TestEmulatorWaitForExit(t *testing.T) {
	t.Parallel()
	run := func(name string, f func(t *testing.T, ctx context.Context, c *flymachines.Client)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				srv := newEmu(t,
					flytest.WithImageBehavior("job-exit-3", flytest.ExitAfter(100*time.Millisecond, 3)),
					flytest.WithImageBehavior("job-ok", flytest.ExitAfter(50*time.Millisecond, 0)),
					flytest.WithImageBehavior("job-oom", flytest.OOMAfter(100*time.Millisecond)))
				c := newFacade(t, srv)
				createApp(t, c, emuApp)
				f(t, testCtx(t, 30*time.Second), c)
			})
		})
	}
	run("exit code 3", func(t *testing.T, ctx context.Context, c *flymachines.Client) {
		m := createMachine(t, c, jobRequest("job-exit-3"))
		st, err := c.WaitForExit(ctx, emuApp, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.ExitCode != 3 || st.Signal != 0 || st.OOMKilled || st.RequestedStop || st.Success() || st.State != flymachines.StateStopped {
			t.Errorf("exit: %+v", st)
		}
		if st.ExitedAt.IsZero() || st.Event == nil || st.Event.Type != "exit" {
			t.Errorf("exit event: %+v", st.Event)
		}
	})
	run("success", func(t *testing.T, ctx context.Context, c *flymachines.Client) {
		m := createMachine(t, c, jobRequest("job-ok"))
		st, err := c.WaitForExit(ctx, emuApp, m.ID)
		if err != nil || !st.Success() || st.ExitCode != 0 {
			t.Errorf("exit: %+v, %v", st, err)
		}
	})
	run("OOM killed", func(t *testing.T, ctx context.Context, c *flymachines.Client) {
		m := createMachine(t, c, jobRequest("job-oom"))
		st, err := c.WaitForExit(ctx, emuApp, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !st.OOMKilled || st.ExitCode != 137 || st.Signal != 9 || st.Success() {
			t.Errorf("exit: %+v", st)
		}
	})
	run("stopped by request", func(t *testing.T, ctx context.Context, c *flymachines.Client) {
		m := createMachine(t, c, jobRequest("nginx"))
		if err := c.WaitStarted(ctx, emuApp, m.ID); err != nil {
			t.Fatal(err)
		}
		if err := c.Machines.Stop(ctx, emuApp, m.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		st, err := c.WaitForExit(ctx, emuApp, m.ID)
		if err != nil || !st.RequestedStop || st.ExitCode != 0 {
			t.Errorf("exit: %+v, %v", st, err)
		}
	})
}
