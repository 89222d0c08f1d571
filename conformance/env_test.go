package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
	"github.com/superfly/fly-go/tokens"

	"github.com/flymachines/flymachines-go/flytest"
)

// org is the organization every app of the suite lives in: the emulator's
// default, and the one Fly gives every user.
const org = "personal"

// callTimeout bounds one flaps call. Some flaps calls retry for a minute
// on an answer they take for "not yet" (WaitForApp on 404, AcquireLease
// on any error); against a diverging emulator the suite must still end.
const callTimeout = 8 * time.Second

// env is one emulator on loopback and a flaps client pointed at it.
type env struct {
	t   *testing.T
	srv *flytest.Server
	f   *flaps.Client
	rec *recorder
}

// newEnv starts an emulator with opts and a flaps client for it, as flyctl
// builds one: the base URL from FLY_FLAPS_BASE_URL and a token.
func newEnv(t *testing.T, opts ...flytest.Option) *env {
	t.Helper()
	opts = append([]flytest.Option{flytest.WithTransitionDelay(5 * time.Millisecond)}, opts...)
	srv := flytest.NewServer(t, opts...)
	t.Setenv("FLY_FLAPS_BASE_URL", srv.URL())
	rec := &recorder{next: http.DefaultTransport}
	f, err := flaps.NewWithOptions(context.Background(), flaps.NewClientOpts{
		Tokens:    tokens.Parse("conformance-suite-token"),
		UserAgent: "flymachines-conformance",
		Transport: rec,
	})
	if err != nil {
		t.Fatalf("flaps client: %v", err)
	}
	return &env{t: t, srv: srv, f: f, rec: rec}
}

// check runs one flaps call and the checks of its result against what the
// real API does; what says which behaviour it checks. A divergence is a
// test error, and the suite goes on so that one run counts them all. check
// reports whether the call behaved.
func (e *env) check(method, what string, call func(ctx context.Context) error) bool {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err := call(ctx)
	ledger.add(result{method: method, test: e.t.Name(), what: what, ok: err == nil})
	if err != nil {
		e.t.Errorf("%s: %s: %v", method, what, err)
		return false
	}
	return true
}

// flapsBug runs a flaps call that a bug of flaps itself breaks before (or
// regardless of) what the API answers, and asserts that the bug is still
// there: call must panic. When flaps is fixed the test fails, so the
// call can be checked against the emulator instead. Such calls are not
// counted as behaving or not.
func (e *env) flapsBug(method, bug string, call func(ctx context.Context)) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	panicked := func() (p any) {
		defer func() { p = recover() }()
		call(ctx)
		return nil
	}()
	ledger.add(result{method: method, test: e.t.Name(), what: bug, flapsBug: true})
	if panicked == nil {
		e.t.Errorf("%s: flaps bug %q no longer shows: check the call against the emulator instead", method, bug)
		return
	}
	e.t.Logf("%s: flaps bug, not imitated: %s (panic: %v)", method, bug, panicked)
}

// createApp creates an app as flyctl does and waits for it under the name
// create answered.
func (e *env) createApp(name string) string {
	e.t.Helper()
	var created *flaps.App
	e.check("CreateApp", "answers the App with its name, status and organization", func(ctx context.Context) error {
		app, err := e.f.CreateApp(ctx, flaps.CreateAppRequest{Name: name, Org: org})
		if err != nil {
			return err
		}
		created = app
		switch {
		case app.Name != name:
			return fmt.Errorf("name %q, want %q", app.Name, name)
		case app.Organization.Slug != org:
			return fmt.Errorf("organization slug %q, want %q", app.Organization.Slug, org)
		case app.Status == "" || app.ID == "":
			return fmt.Errorf("status %q, id %q: want both", app.Status, app.ID)
		}
		return nil
	})
	waitFor := name
	if created != nil {
		waitFor = created.Name // what flyctl waits on
	}
	e.check("WaitForApp", "finds the app under the name create answered", func(ctx context.Context) error {
		return e.f.WaitForApp(ctx, waitFor)
	})
	return name
}

// launch creates a Machine and waits for it to start, the way flyctl's
// deploy does. It fails the test when there is no Machine to go on with.
func (e *env) launch(app string, cfg *fly.MachineConfig) *fly.Machine {
	e.t.Helper()
	var m *fly.Machine
	e.check("Launch", "creates a Machine", func(ctx context.Context) (err error) {
		m, err = e.f.Launch(ctx, app, fly.LaunchMachineInput{Config: cfg, Region: "ord"})
		return err
	})
	if m == nil {
		e.t.FailNow()
	}
	e.check("Wait", "started, for the version launch answered", func(ctx context.Context) error {
		return e.f.Wait(ctx, app, m.ID, flaps.WithWaitStates("started"), flaps.WithWaitVersion(m.InstanceID), flaps.WithWaitTimeout(10*time.Second))
	})
	return m
}

// service is a Machine config that runs until stopped.
func service(image string) *fly.MachineConfig {
	return &fly.MachineConfig{
		Image: image,
		Guest: &fly.MachineGuest{CPUKind: "shared", CPUs: 1, MemoryMB: 256},
		Metadata: map[string]string{
			fly.MachineConfigMetadataKeyFlyPlatformVersion: fly.MachineFlyPlatformVersion2,
			fly.MachineConfigMetadataKeyFlyProcessGroup:    fly.MachineProcessGroupApp,
		},
		Restart: &fly.MachineRestart{Policy: fly.MachineRestartPolicyNo},
	}
}

// statusOf is the HTTP status of a flaps error, or 0.
func statusOf(err error) int {
	var fe *flaps.FlapsError
	if errors.As(err, &fe) {
		return fe.ResponseStatusCode
	}
	return 0
}

// wantStatus checks that a call failed with the given HTTP status.
func wantStatus(err error, status int) error {
	switch got := statusOf(err); {
	case err == nil:
		return fmt.Errorf("succeeded, want HTTP %d", status)
	case got != status:
		return fmt.Errorf("failed with HTTP %d (%v), want HTTP %d", got, err, status)
	}
	return nil
}

// recorder is the innermost transport of the flaps client: it keeps the
// last exchange, so a test can look at the raw JSON on the wire, which no
// decoding into fly-go's types can show (a field sent as 0 or null reads
// the same as a field left out).
type recorder struct {
	next http.RoundTripper

	mu   sync.Mutex
	last exchange
}

type exchange struct {
	method, url string
	reqBody     []byte
	status      int
	respBody    []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.last = exchange{method: req.Method, url: req.URL.String(), reqBody: reqBody, status: resp.StatusCode, respBody: body}
	r.mu.Unlock()
	return resp, nil
}

// lastExchange returns the most recent request and its answer.
func (e *env) lastExchange() exchange {
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	return e.rec.last
}

// wireObject decodes the last answer as a JSON object, keeping every key
// as sent.
func (e *env) wireObject() (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.lastExchange().respBody, &obj); err != nil {
		return nil, fmt.Errorf("answer is not a JSON object: %v", err)
	}
	return obj, nil
}

// sent checks that a JSON object carries each key with exactly the given
// raw value (e.g. "false", `""`, "null").
func sent(obj map[string]json.RawMessage, want map[string]string) error {
	var missing []string
	for _, k := range sortedKeys(want) {
		got, ok := obj[k]
		if !ok {
			missing = append(missing, k+" (absent)")
			continue
		}
		if string(got) != want[k] {
			missing = append(missing, fmt.Sprintf("%s = %s, want %s", k, got, want[k]))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the answer does not carry what the API sends: %s", strings.Join(missing, "; "))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// result is one flaps call of the suite.
type result struct {
	method, test, what string
	ok                 bool
	flapsBug           bool
}

// ledger collects every call of the run, for the count and the coverage
// check in TestMain.
var ledger = &results{}

type results struct {
	mu  sync.Mutex
	all []result
}

func (r *results) add(res result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, res)
}

func (r *results) snapshot() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.all)
}

// TestMain runs the suite, then prints how many flaps calls behaved as
// against the real API and, when the whole suite ran, checks that every
// method of the coverage table was called by the test the table names.
func TestMain(m *testing.M) {
	code := m.Run()
	all := ledger.snapshot()
	behaved, counted, bugs := 0, 0, 0
	for _, r := range all {
		switch {
		case r.flapsBug:
			bugs++
		case r.ok:
			behaved++
			counted++
		default:
			counted++
		}
	}
	if counted > 0 {
		fmt.Printf("conformance: %d of %d flaps calls behaved as against the real API (%d more met a named flaps bug)\n", behaved, counted, bugs)
	}
	if code == 0 && wholeSuite() {
		if missing := uncalled(all); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "conformance: the coverage table names calls the suite never made:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

// wholeSuite reports whether no -run filter narrowed the run.
func wholeSuite() bool {
	for _, arg := range os.Args[1:] {
		if strings.HasPrefix(arg, "-test.run") || strings.HasPrefix(arg, "-test.skip") {
			return false
		}
	}
	return true
}

// uncalled lists the entries of the coverage table whose test made no call
// of the method.
func uncalled(all []result) []string {
	called := map[string]bool{}
	for _, r := range all {
		top, _, _ := strings.Cut(r.test, "/")
		called[r.method+" "+top] = true
	}
	var missing []string
	for _, method := range sortedKeys(coverage) {
		if !called[method+" "+coverage[method]] {
			missing = append(missing, method+" in "+coverage[method])
		}
	}
	return missing
}
