package flytest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// testDelay keeps transient states short, so the suite stays fast.
const testDelay = 5 * time.Millisecond

const testApp = "test-app"

var (
	ulidPattern      = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)
	machineIDPattern = regexp.MustCompile(`^[0-9a-f]{14}$`)
)

// env is an emulator with one app, and the generated client aimed at it.
type env struct {
	t   *testing.T
	srv *Server
	c   *client.API
	ctx context.Context
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	srv, c := newTestClient(t, append([]Option{WithTransitionDelay(testDelay)}, opts...)...)
	en := &env{t: t, srv: srv, c: c, ctx: context.Background()}
	en.createApp(testApp, "personal")
	return en
}

func (en *env) createApp(name, org string) {
	en.t.Helper()
	if _, err := en.c.Apps.Create(en.ctx, &models.CreateAppRequest{Name: name, OrgSlug: org}); err != nil {
		en.t.Fatal(err)
	}
}

// machineConfig is a minimal valid config.
func machineConfig(image string) *models.FlyMachineConfig {
	return &models.FlyMachineConfig{Image: image}
}

func createBody(image string) *models.CreateMachineRequest {
	req := &models.CreateMachineRequest{}
	req.Config = machineConfig(image)
	return req
}

func (en *env) create(req *models.CreateMachineRequest) *models.Machine {
	en.t.Helper()
	m, err := en.c.Machines.Create(en.ctx, testApp, req)
	if err != nil {
		en.t.Fatalf("create: %v", errText(err))
	}
	return m
}

// started creates a Machine from image and waits until it is started.
func (en *env) started(image string) *models.Machine {
	en.t.Helper()
	m := en.create(createBody(image))
	en.waitFor(m.ID, stateStarted)
	return en.show(m.ID)
}

func (en *env) show(id string) *models.Machine {
	en.t.Helper()
	return en.showIn(testApp, id)
}

func (en *env) showIn(app, id string) *models.Machine {
	en.t.Helper()
	m, err := en.c.Machines.Show(en.ctx, app, id, nil)
	if err != nil {
		en.t.Fatalf("show %s: %v", id, errText(err))
	}
	return m
}

// waitFor polls GET until the Machine is in state: independent of
// Machines_wait, so it can check that too.
func (en *env) waitFor(id, state string) *models.Machine {
	en.t.Helper()
	return en.waitForIn(testApp, id, state)
}

// waitForIn is waitFor for a Machine of app.
func (en *env) waitForIn(app, id, state string) *models.Machine {
	en.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := en.showIn(app, id)
		if m.State == state {
			return m
		}
		if time.Now().After(deadline) {
			en.t.Fatalf("machine %s: state %s, want %s", id, m.State, state)
		}
		time.Sleep(time.Millisecond)
	}
}

func (en *env) events(id string) []*models.MachineEvent {
	en.t.Helper()
	evs, err := en.c.Machines.ListEvents(en.ctx, testApp, id, &machines.ListEventsParams{Limit: 50})
	if err != nil {
		en.t.Fatalf("events: %v", errText(err))
	}
	return evs
}

// lastExit is the newest exit event's request, decoded.
func (en *env) lastExit(id string) exitRequest {
	en.t.Helper()
	for _, ev := range en.events(id) {
		if ev.Type == "exit" {
			b, err := json.Marshal(ev.Request)
			var req exitRequest
			if err == nil {
				err = json.Unmarshal(b, &req)
			}
			if err != nil {
				en.t.Fatalf("exit event request %s: %v", b, err)
			}
			return req
		}
	}
	en.t.Fatalf("machine %s has no exit event", id)
	return exitRequest{}
}

func (en *env) stop(id string) {
	en.t.Helper()
	if err := en.c.Machines.Stop(en.ctx, testApp, id, nil, nil); err != nil {
		en.t.Fatalf("stop: %v", errText(err))
	}
}

// codeOf is the HTTP status of a client result: 200 for no error, the
// status of an API error, or 0 for a transport or decoding error.
func codeOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if ce := callError(err); ce != nil {
		return ce.StatusCode
	}
	return 0
}

// callError is the answer of a call that failed with an HTTP status, nil
// if it got none.
func callError(err error) *call.Error {
	var ce *call.Error
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// errorBody is the ErrorResponse an API error's body holds, nil if err is
// not an API error or its body is not a JSON object.
func errorBody(err error) *models.ErrorResponse {
	ce := callError(err)
	if ce == nil {
		return nil
	}
	var b models.ErrorResponse
	if json.Unmarshal(ce.Body, &b) != nil {
		return nil
	}
	return &b
}

func errText(err error) string {
	if b := errorBody(err); b != nil {
		return err.Error() + ": " + b.Error
	}
	return err.Error()
}

// rawGet is a plain HTTP GET with the test token, for queries the
// generated client would not send (a malformed cursor, timeout=abc) and
// quick status checks.
func rawGet(t *testing.T, srv *Server, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// countGoroutines counts goroutines whose stack mentions fn.
func countGoroutines(fn string) int {
	buf := make([]byte, 1<<20)
	for {
		n := goruntime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}
