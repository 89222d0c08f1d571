package flymachines

// What the facade promises of every call of the generated surface, checked
// operation by operation against the facts table (client/ops): the lease
// nonce, retries, the rate class, a long poll's HTTP timeout, what a call
// captures of its answer, and the checks before sending.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	httptransport "github.com/go-openapi/runtime/client"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/client/metadata"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

// Path parameter values the tests use.
const (
	surfaceApp     = "app"
	surfaceMachine = "m1"
)

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// requestFor is a call of op as the generated client builds one: its
// method and path, every path parameter set (app_name and machine_id to
// surfaceApp and surfaceMachine, the rest to "x", except empty ones),
// succeeding with 200.
func requestFor(op ops.Op, empty ...string) *call.Request {
	return requestWith(op, "", empty...)
}

// requestWith is requestFor with the parameters named set to value.
func requestWith(op ops.Op, value string, names ...string) *call.Request {
	r := call.New(op.ID, op.Method, op.Path, http.StatusOK)
	for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
		v := "x"
		switch m[1] {
		case "app_name":
			v = surfaceApp
		case "machine_id":
			v = surfaceMachine
		}
		for _, e := range names {
			if e == m[1] {
				v = value
			}
		}
		r.PathParam(m[1], v)
	}
	return r
}

// concretePath is op's path as requestFor fills it, escaped.
func concretePath(op ops.Op) string {
	return pathParam.ReplaceAllStringFunc(op.Path, func(s string) string {
		switch s {
		case "{app_name}":
			return surfaceApp
		case "{machine_id}":
			return surfaceMachine
		}
		return "x"
	})
}

// testLease is a lease of surfaceApp/machine held with nonce, as
// AcquireLease leaves one, without asking the API.
func testLease(c *Client, machine, nonce string) *Lease {
	return &Lease{App: surfaceApp, MachineID: machine, c: c, ttl: time.Minute, nonce: nonce}
}

// leasedCalls calls each operation that carries the lease nonce through
// the generated client, as a user would.
var leasedCalls = map[string]func(ctx context.Context, c *Client) error{
	ops.MachinesCordon: func(ctx context.Context, c *Client) error {
		return c.Machines.Cordon(ctx, surfaceApp, surfaceMachine, nil)
	},
	ops.MachinesUncordon: func(ctx context.Context, c *Client) error {
		return c.Machines.Uncordon(ctx, surfaceApp, surfaceMachine, nil)
	},
	ops.MachinesDelete: func(ctx context.Context, c *Client) error {
		return c.Machines.Delete(ctx, surfaceApp, surfaceMachine, &machines.DeleteParams{Force: true})
	},
	ops.MachinesRestart: func(ctx context.Context, c *Client) error {
		return c.Machines.Restart(ctx, surfaceApp, surfaceMachine, nil)
	},
	ops.MachinesSignal: func(ctx context.Context, c *Client) error {
		return c.Machines.Signal(ctx, surfaceApp, surfaceMachine, &models.SignalRequest{Signal: "SIGTERM"}, nil)
	},
	ops.MachinesStart: func(ctx context.Context, c *Client) error {
		_, err := c.Machines.Start(ctx, surfaceApp, surfaceMachine, nil)
		return err
	},
	ops.MachinesStop: func(ctx context.Context, c *Client) error {
		return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, nil)
	},
	ops.MachinesSuspend: func(ctx context.Context, c *Client) error {
		return c.Machines.Suspend(ctx, surfaceApp, surfaceMachine, nil)
	},
	ops.MachinesUpdate: func(ctx context.Context, c *Client) error {
		_, err := c.Machines.Update(ctx, surfaceApp, surfaceMachine, &models.UpdateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}}, nil)
		return err
	},
	ops.MetadataDelete: func(ctx context.Context, c *Client) error {
		return c.Metadata.Delete(ctx, surfaceApp, surfaceMachine, "k", nil)
	},
	ops.MetadataSet: func(ctx context.Context, c *Client) error {
		return c.Metadata.Set(ctx, surfaceApp, surfaceMachine, "k", &models.UpsertMetadataKeyRequest{Value: "v"}, nil)
	},
	ops.MetadataUpdate: func(ctx context.Context, c *Client) error {
		return c.Metadata.Update(ctx, surfaceApp, surfaceMachine, &models.UpdateMetadataRequest{Metadata: map[string]string{"k": "v"}}, nil)
	},
	ops.MetadataReplace: func(ctx context.Context, c *Client) error {
		return c.Metadata.Replace(ctx, surfaceApp, surfaceMachine, &models.UpdateMetadataRequest{Metadata: map[string]string{"k": "v"}}, &metadata.ReplaceParams{})
	},
}

// TestLeaseNonceFollowsTheFacts: under a Lease.Context, a call of an
// operation with LeaseNonce carries the nonce on the wire, made through
// the generated client or as a bare call.Request; without the lease's
// context, or for another Machine, it does not; an operation without
// LeaseNonce never does.
func TestLeaseNonceFollowsTheFacts(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL, WithoutRetries())
	const nonce = "nonce-0123456789abcdef"
	leased := testLease(c, surfaceMachine, nonce).Context(context.Background())
	otherMachine := testLease(c, "other", nonce).Context(context.Background())
	otherApp := (&Lease{App: "other-app", MachineID: surfaceMachine, c: c, ttl: time.Minute, nonce: nonce}).Context(context.Background())

	sent := func(t *testing.T, do func(ctx context.Context) error, ctx context.Context) recorded {
		t.Helper()
		before := len(rec.requests())
		_ = do(ctx) // the recorder's {} is not every operation's answer: only the request matters
		reqs := rec.requests()
		if len(reqs) != before+1 {
			t.Fatalf("%d requests sent, want 1", len(reqs)-before)
		}
		return reqs[len(reqs)-1]
	}
	for _, op := range ops.All() {
		t.Run(op.ID, func(t *testing.T) {
			bare := func(ctx context.Context) error { return call.Do(ctx, c.sub, requestFor(op), nil, nil) }
			r := sent(t, bare, leased)
			if r.Method != op.Method || r.Path != concretePath(op) {
				t.Fatalf("sent %s %s, want %s %s", r.Method, r.Path, op.Method, concretePath(op))
			}
			got := r.Header.Get(headerLeaseNonce)
			switch {
			case op.LeaseNonce && got != nonce:
				t.Errorf("under the lease: nonce %q, want %q", got, nonce)
			case !op.LeaseNonce && got != "":
				t.Errorf("an operation without LeaseNonce sent the nonce %q", got)
			}
			if got := sent(t, bare, context.Background()).Header.Get(headerLeaseNonce); got != "" {
				t.Errorf("without a lease: nonce %q", got)
			}
			if got := sent(t, bare, otherMachine).Header.Get(headerLeaseNonce); got != "" {
				t.Errorf("under another Machine's lease: nonce %q", got)
			}
			if got := sent(t, bare, otherApp).Header.Get(headerLeaseNonce); got != "" {
				t.Errorf("under the lease of a Machine of the same id in another app: nonce %q", got)
			}

			generated, ok := leasedCalls[op.ID]
			if op.LeaseNonce != ok {
				t.Fatalf("LeaseNonce %v, but leasedCalls has it: %v", op.LeaseNonce, ok)
			}
			if !ok {
				return
			}
			do := func(ctx context.Context) error { return generated(ctx, c) }
			if got := sent(t, do, leased).Header.Get(headerLeaseNonce); got != nonce {
				t.Errorf("through the generated client, under the lease: nonce %q", got)
			}
			if got := sent(t, do, context.Background()).Header.Get(headerLeaseNonce); got != "" {
				t.Errorf("through the generated client, without a lease: nonce %q", got)
			}
		})
	}

	// A nonce given by hand wins over the context's.
	r := sent(t, func(ctx context.Context) error {
		return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, &machines.StopParams{LeaseNonce: "by-hand"})
	}, leased)
	if got := r.Header.Get(headerLeaseNonce); got != "by-hand" {
		t.Errorf("a nonce given by hand: sent %q", got)
	}
}

// faultyAPI answers every request with the fault and counts the attempts
// per method and path; served in memory, for a synctest bubble.
type faultyAPI struct {
	mu       sync.Mutex
	attempts map[string]int
	status   int  // the answer's status
	drop     bool // lose the connection instead
}

func (f *faultyAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.attempts[r.Method+" "+r.URL.EscapedPath()]++
	f.mu.Unlock()
	if f.drop {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, `{"error":"fault"}`)
}

func (f *faultyAPI) count(op ops.Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[op.Method+" "+concretePath(op)]
}

// TestRetriesFollowTheFacts: for every operation, an ambiguous failure (a
// 503, a lost connection, a 408) is retried only when the operation is
// Repeatable, a 408 of a long poll never ("not yet" is the wait helpers'
// to handle), and a 429, refused before it took effect, always.
func TestRetriesFollowTheFacts(t *testing.T) {
	t.Parallel()
	const attempts = 3 // newTestClient's policy
	for _, fault := range []struct {
		name   string
		status int  // the answer's status
		drop   bool // lose the connection instead
		expect func(op ops.Op) int
	}{
		{"503", http.StatusServiceUnavailable, false, func(op ops.Op) int { return map[bool]int{true: attempts, false: 1}[op.Repeatable] }},
		{"lost connection", 0, true, func(op ops.Op) int { return map[bool]int{true: attempts, false: 1}[op.Repeatable] }},
		{"408", http.StatusRequestTimeout, false, func(op ops.Op) int {
			return map[bool]int{true: attempts, false: 1}[op.Repeatable && !op.LongPoll]
		}},
		{"429", http.StatusTooManyRequests, false, func(ops.Op) int { return attempts }},
		{"500", http.StatusInternalServerError, false, func(ops.Op) int { return 1 }},
	} {
		t.Run(fault.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				api := &faultyAPI{status: fault.status, drop: fault.drop, attempts: map[string]int{}}
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(api)}))
				for _, op := range ops.All() {
					if err := call.Do(context.Background(), c.sub, requestFor(op), nil, nil); err == nil {
						t.Fatalf("%s: no error through the fault", op.ID)
					}
					if got, want := api.count(op), fault.expect(op); got != want {
						t.Errorf("%s (repeatable %v, long poll %v): %d attempts, want %d", op.ID, op.Repeatable, op.LongPoll, got, want)
					}
				}
			})
		})
	}
	// The same through the generated wait: one call, its 408 returned.
	synctest.Test(t, func(t *testing.T) {
		api := &faultyAPI{status: http.StatusRequestTimeout, attempts: map[string]int{}}
		c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(api)}))
		_, err := c.Machines.Wait(context.Background(), surfaceApp, surfaceMachine, &machines.WaitParams{State: []string{"started"}, Timeout: 1})
		if !errors.Is(err, ErrTimeout) || api.count(opFacts(ops.MachinesWait)) != 1 {
			t.Errorf("wait: err = %v after %d attempts, want its 408 after 1", err, api.count(opFacts(ops.MachinesWait)))
		}
	})
}

// TestRateClassGetMachine: getting a Machine (rate class get_machine)
// counts against RateLimits.GetMachine, other calls of the same Machine
// against RateLimits.Default.
func TestRateClassGetMachine(t *testing.T) {
	t.Parallel()
	slow, fast := RateLimit{Rate: 1, Burst: 1}, RateLimit{Rate: 1000, Burst: 10}
	for _, tc := range []struct {
		name              string
		limits            RateLimits
		showTook, memTook time.Duration // three calls in a row
	}{
		{"slow default", RateLimits{Default: slow, GetMachine: fast}, 0, 2 * time.Second},
		{"slow get_machine", RateLimits{Default: fast, GetMachine: slow}, 2 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(answer(200, "{}"))}),
					WithRateLimits(tc.limits))
				ctx := context.Background()
				start := time.Now()
				for range 3 {
					if _, err := c.Machines.Show(ctx, surfaceApp, surfaceMachine, nil); err != nil {
						t.Fatal(err)
					}
				}
				if took := time.Since(start); took != tc.showTook {
					t.Errorf("three gets of a Machine took %s, want %s", took, tc.showTook)
				}
				start = time.Now()
				for range 3 {
					if _, err := c.Machines.GetMemory(ctx, surfaceApp, surfaceMachine); err != nil {
						t.Fatal(err)
					}
				}
				if took := time.Since(start); took != tc.memTook {
					t.Errorf("three other reads of the Machine took %s, want %s", took, tc.memTook)
				}
			})
		})
	}
}

// holdingAPI answers a wait after the wait's own timeout parameter (as
// the API does; 60 s when none is given) and any other call after hold,
// unless the client gives up first.
func holdingAPI(hold time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := hold
		if strings.HasSuffix(r.URL.Path, "/wait") {
			d = maxWaitCall
			if secs, err := strconv.Atoi(r.URL.Query().Get("timeout")); err == nil {
				d = time.Duration(secs) * time.Second
			}
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"state":"started","id":"m1"}`)
	})
}

// TestLongPollTimeout: a long poll without a timeout of its own gets the
// server's wait plus a margin as its HTTP timeout, not go-openapi's 30 s
// default: a 45 s wait, or a wait of the API's longest 60 s, is answered.
// A timeout the caller gives is kept, and other calls keep the default.
func TestLongPollTimeout(t *testing.T) {
	t.Parallel()
	wait := func(params *machines.WaitParams, opts ...call.Option) func(c *Client) error {
		return func(c *Client) error {
			_, err := c.Machines.Wait(context.Background(), surfaceApp, surfaceMachine, params, opts...)
			return err
		}
	}
	for _, tc := range []struct {
		name string
		do   func(c *Client) error
		took time.Duration
		err  error
	}{
		{"wait of 45s", wait(&machines.WaitParams{State: []string{"started"}, Timeout: 45}), 45 * time.Second, nil},
		{"wait without a timeout", wait(nil), maxWaitCall, nil},
		{"the caller's timeout", wait(&machines.WaitParams{Timeout: 45}, call.WithTimeout(5*time.Second)), 5 * time.Second, ErrTimeout},
		{"not a long poll", func(c *Client) error {
			_, err := c.Machines.Show(context.Background(), surfaceApp, surfaceMachine, nil)
			return err
		}, 30 * time.Second, ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(holdingAPI(45 * time.Second))}),
					WithoutRetries())
				start := time.Now()
				err := tc.do(c)
				if took := time.Since(start); took != tc.took {
					t.Errorf("took %s, want %s", took, tc.took)
				}
				if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
					t.Errorf("err = %v, want %v", err, tc.err)
				}
			})
		})
	}
}

// TestCaptureGivesRequestIDAndCursor: call.Capture gives what the answer
// said besides its body: the status, fly-request-id and a list's paging
// cursor, which pages through a list; and the status of a failed call.
func TestCaptureGivesRequestIDAndCursor(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("fly-request-id", "req-"+r.URL.Query().Get("cursor"))
		switch {
		case strings.HasSuffix(r.URL.Path, "/missing"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"not found"}`)
		case r.URL.Query().Get("cursor") == "":
			w.Header().Set("fly-next-cursor", "c2")
			_, _ = io.WriteString(w, `[{"id":"m1"},{"id":"m2"}]`)
		default:
			_, _ = io.WriteString(w, `[{"id":"m3"}]`)
		}
	})
	c := newTestClient(t, rec.URL)
	ctx := context.Background()
	var ids []string
	var cursors []string
	params := &machines.ListParams{Limit: 2}
	for range 3 {
		var meta call.Meta
		page, err := c.Machines.List(ctx, surfaceApp, params, call.Capture(&meta))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			ids = append(ids, m.ID)
		}
		if meta.StatusCode != http.StatusOK || meta.RequestID() != "req-"+params.Cursor {
			t.Errorf("page after %q: status %d, request id %q", params.Cursor, meta.StatusCode, meta.RequestID())
		}
		cursors = append(cursors, meta.NextCursor())
		if meta.NextCursor() == "" {
			break
		}
		params.Cursor = meta.NextCursor()
	}
	if strings.Join(ids, ",") != "m1,m2,m3" || strings.Join(cursors, ",") != "c2," {
		t.Errorf("paged through %v with cursors %q", ids, cursors)
	}
	if q := rec.last(t).Query; q.Get("cursor") != "c2" || q.Get("limit") != "2" {
		t.Errorf("the second page was asked with %v", q)
	}

	var meta call.Meta
	_, err := c.Machines.Show(ctx, surfaceApp, "missing", nil, call.Capture(&meta))
	if !errors.Is(err, ErrNotFound) || meta.StatusCode != http.StatusNotFound || meta.RequestID() != "req-" {
		t.Errorf("a 404: err = %v, captured status %d, request id %q", err, meta.StatusCode, meta.RequestID())
	}
}

// TestEmptyPathParameterRefused: for every operation, a call with an
// empty path parameter (which would be sent to another endpoint,
// /v1/apps//machines) is refused with a *ValidationError naming it, and
// nothing is sent; so is one with an empty required query or header
// parameter (a release without its nonce). So is a parameter that is a dot segment: "." or ".."
// go out as they are (/v1/apps/a/machines/..), and a server or proxy that
// removes dot segments would delete the app where a Machine was meant.
func TestEmptyPathParameterRefused(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	checked := 0
	for _, op := range ops.All() {
		for _, m := range pathParam.FindAllStringSubmatch(op.Path, -1) {
			checked++
			err := call.Do(context.Background(), c.sub, requestFor(op, m[1]), nil, nil)
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok || ve.Op != op.ID || !strings.Contains(err.Error(), "empty path parameter "+m[1]) || !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s with %s empty: err = %v", op.ID, m[1], err)
			}
			for _, dots := range []string{".", ".."} {
				err := call.Do(context.Background(), c.sub, requestWith(op, dots, m[1]), nil, nil)
				if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.Op != op.ID || !strings.Contains(err.Error(), "path parameter "+m[1]+" is "+strconv.Quote(dots)) {
					t.Errorf("%s with %s %q: err = %v", op.ID, m[1], dots, err)
				}
			}
			// A slash goes out as %2F; a server that decodes it before
			// routing would read m1/../../other-app/machines/m2 as
			// another app's Machine.
			for _, slashed := range []string{"/", "m1/../../other-app/machines/m2", "a/b"} {
				err := call.Do(context.Background(), c.sub, requestWith(op, slashed, m[1]), nil, nil)
				if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.Op != op.ID || !strings.Contains(err.Error(), "path parameter "+m[1]+" holds a slash") {
					t.Errorf("%s with %s %q: err = %v", op.ID, m[1], slashed, err)
				}
			}
		}
	}
	// And through the generated client.
	for name, do := range map[string]func() error{
		"show":         func() error { _, err := c.Machines.Show(context.Background(), "", "m1", nil); return err },
		"stop":         func() error { return c.Machines.Stop(context.Background(), "app", "", nil, nil) },
		"metadata":     func() error { return c.Metadata.Delete(context.Background(), "app", "m1", "", nil) },
		"delete ..":    func() error { return c.Machines.Delete(context.Background(), "app", "..", nil) },
		"delete .":     func() error { return c.Machines.Delete(context.Background(), "app", ".", nil) },
		"delete m1/..": func() error { return c.Machines.Delete(context.Background(), "app", "m1/../m2", nil) },
		// Required query and header parameters, empty.
		"apps list": func() error { _, err := c.Apps.List(context.Background(), "", nil); return err },
		"release":   func() error { return c.Leases.Release(context.Background(), "app", "m1", "") },
		"active queries": func() error {
			_, err := c.Postgres.ActiveQueries(context.Background(), "pg", "")
			return err
		},
	} {
		if _, ok := errors.AsType[*ValidationError](do()); !ok {
			t.Errorf("%s with an empty path parameter was not refused", name)
		}
	}
	if checked < 100 {
		t.Errorf("only %d path parameters checked", checked)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// TestInvalidBodyRefused: a body that fails its model's validation is
// refused with a *ValidationError naming the field, before anything is
// sent, whichever operation carries it.
func TestInvalidBodyRefused(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	ctx := context.Background()
	for _, tc := range []struct {
		name, field string
		do          func() error
	}{
		{"placements without org_slug", "org_slug", func() error {
			_, err := c.Platform.Placements(ctx, &models.MainGetPlacementsRequest{Region: "ord"})
			return err
		}},
		{"create with an unknown autostop", "config.services.0.autostop", func() error {
			_, err := c.Machines.Create(ctx, "app", &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
				Image: "nginx", Services: []*models.FlyMachineService{{Autostop: "sometimes"}}}})
			return err
		}},
		{"update with an unknown restart policy", "config.restart.policy", func() error {
			_, err := c.Machines.Update(ctx, "app", "m1", &models.UpdateMachineRequest{Config: &models.FlyMachineConfig{
				Image: "nginx", Restart: &models.FlyMachineRestart{Policy: "sometimes"}}}, nil)
			return err
		}},
		{"a call with options", "config.restart.policy", func() error {
			_, err := c.Machines.Create(ctx, "app", &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
				Image: "nginx", Restart: &models.FlyMachineRestart{Policy: "sometimes"}}},
				call.WithQuery("x", "y"), call.WithHeader("X-Trace", "t"), call.WithTimeout(time.Second))
			return err
		}},
		{"a bare call.Request", "org_slug", func() error {
			r := requestFor(opFacts(ops.PlatformPlacements))
			r.SetBody(&models.MainGetPlacementsRequest{Region: "ord"}, true)
			return call.Do(ctx, c.sub, r, nil, nil)
		}},
	} {
		err := tc.do()
		if ve, ok := errors.AsType[*ValidationError](err); !ok || !strings.Contains(ve.Error(), tc.field) || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want a *ValidationError naming %s", tc.name, err, tc.field)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

// TestListMetadataOnTheWire: ListParams.Metadata (what MatchMetadata used
// to add) sends one metadata.<key> parameter per key, escaped, and never
// the spec's untemplated metadata.{key}.
func TestListMetadataOnTheWire(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	})
	c := newTestClient(t, rec.URL)
	if _, err := c.Machines.List(context.Background(), "my-app", &machines.ListParams{
		Metadata: map[string]string{"role": "worker", "launch id": "a&b"},
	}); err != nil {
		t.Fatal(err)
	}
	q := rec.last(t).Query
	if q.Get("metadata.role") != "worker" || q.Get("metadata.launch id") != "a&b" || len(q) != 2 {
		t.Errorf("query = %v, want metadata.role=worker and metadata.launch id=a&b", q)
	}
}

// TestHeaderParameterRefused: a header that net/http would refuse to send
// (a line break or another control character in a value, a name that is
// no HTTP token) is refused before anything is sent, as a
// *ValidationError that names the header but does not quote its value (a
// nonce, or a credential a caller set): not a transport failure, which a
// repeatable call would retry with backoff.
func TestHeaderParameterRefused(t *testing.T) {
	t.Parallel()
	var sent atomic.Int32
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return inmem.Transport(answer(http.StatusOK, "{}")).RoundTrip(r)
	})
	c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: rt}))
	ctx := context.Background()
	const secret = "s3cr3t-nonce"
	for name, do := range map[string]func() error{
		"CR LF in WithHeader": func() error {
			return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, nil, call.WithHeader("X-Trace", secret+"\r\nX-Evil: 1"))
		},
		"LF in a nonce given by hand": func() error {
			return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, &machines.StopParams{LeaseNonce: secret + "\n"})
		},
		"NUL in a required header": func() error { return c.Leases.Release(ctx, surfaceApp, surfaceMachine, secret+"\x00") },
		"a name with a space": func() error {
			return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, nil, call.WithHeader("X Trace", "t"))
		},
		"a name with a colon": func() error {
			return c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, nil, call.WithHeader("X-Trace: t\r\nX-Evil", "1"))
		},
	} {
		err := do()
		if ve, ok := errors.AsType[*ValidationError](err); !ok || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(ve.Error(), "header") {
			t.Errorf("%s: err = %v, want a *ValidationError about the header", name, err)
		}
		if err != nil && strings.Contains(fmt.Sprintf("%v|%+v", err, err), secret) {
			t.Errorf("%s: the value is in the error: %v", name, err)
		}
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d requests reached the transport", n)
	}
	// A tab is fine in a value, as HTTP allows.
	if err := c.Machines.Stop(ctx, surfaceApp, surfaceMachine, nil, nil, call.WithHeader("X-Trace", "a\tb")); err != nil {
		t.Errorf("a tab in a header value: %v", err)
	}
}

// TestTypedNilBodyIsNoBody: a hand-built call.Request given a typed nil as
// its body, with present true, sends no body (not "null"), and checking it
// does not run the model's validation on a nil pointer (which panicked).
func TestTypedNilBodyIsNoBody(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	for name, body := range map[string]any{
		"nil *CreateMachineRequest": (*models.CreateMachineRequest)(nil),
		"nil map":                   map[string]string(nil),
		"nil slice":                 []string(nil),
	} {
		r := requestFor(opFacts(ops.MachinesCreate))
		r.SetBody(body, true)
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic: %v", name, p)
				}
			}()
			_ = call.Do(context.Background(), c.sub, r, nil, nil)
		}()
		if got := rec.last(t).Body; len(got) != 0 {
			t.Errorf("%s: sent body %q", name, got)
		}
	}
}

// TestCallTimeoutIsTheClients: the 30 s a call gets unless it says
// otherwise is the client's own, not go-openapi's DefaultTimeout, a
// variable any package of the program may set (to zero: no bound, so a
// call to a server that never answers would hang). The variable is
// changed in a child process, so no test here races with it.
func TestCallTimeoutIsTheClients(t *testing.T) {
	if os.Getenv("FLYMACHINES_TIMEOUT_CHILD") == "1" {
		httptransport.DefaultTimeout = 0
		synctest.Test(t, func(t *testing.T) {
			c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(holdingAPI(time.Hour))}), WithoutRetries())
			start := time.Now()
			_, err := c.Machines.Show(context.Background(), surfaceApp, surfaceMachine, nil)
			if took := time.Since(start); took != defaultCallTimeout || !errors.Is(err, ErrTimeout) {
				t.Errorf("with go-openapi's DefaultTimeout at 0: took %s, err = %v; want %s, ErrTimeout", took, err, defaultCallTimeout)
			}
		})
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCallTimeoutIsTheClients$", "-test.v")
	cmd.Env = append(os.Environ(), "FLYMACHINES_TIMEOUT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Errorf("child: %v\n%s", err, out)
	}
}

// TestHandMadeRequestIsItsOperation: the facts of a call.Request's
// operation decide its retries, its lease nonce and its rate class, so a
// request made by hand must be that operation: the same method and path
// pattern, each path parameter set once and no other. Before this was
// checked, a machine_id set twice took the lease nonce chosen by the
// first to the Machine of the second, and a start labelled Machines_show
// would have been retried as a read.
func TestHandMadeRequestIsItsOperation(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	const nonce = "nonce-of-m1-0123456789"
	leased := testLease(c, surfaceMachine, nonce).Context(context.Background())
	stop := opFacts(ops.MachinesStop)
	for name, r := range map[string]*call.Request{
		"another method and path": func() *call.Request {
			r := call.New(ops.MachinesShow, http.MethodPost, opFacts(ops.MachinesStart).Path, http.StatusOK)
			r.PathParam("app_name", surfaceApp)
			r.PathParam("machine_id", surfaceMachine)
			return r
		}(),
		"machine_id twice": func() *call.Request {
			r := call.New(stop.ID, stop.Method, stop.Path, http.StatusOK)
			r.PathParam("app_name", surfaceApp)
			r.PathParam("machine_id", surfaceMachine)
			r.PathParam("machine_id", "m2")
			return r
		}(),
		"machine_id missing": func() *call.Request {
			r := call.New(stop.ID, stop.Method, stop.Path, http.StatusOK)
			r.PathParam("app_name", surfaceApp)
			return r
		}(),
		"a parameter the path lacks": func() *call.Request {
			r := requestFor(stop)
			r.PathParam("key", "k")
			return r
		}(),
	} {
		if _, ok := errors.AsType[*ValidationError](call.Do(leased, c.sub, r, nil, nil)); !ok {
			t.Errorf("%s: not refused", name)
		}
	}
	for _, r := range rec.requests() {
		t.Errorf("sent %s %s with nonce %q", r.Method, r.Path, r.Header.Get(headerLeaseNonce))
	}
}
