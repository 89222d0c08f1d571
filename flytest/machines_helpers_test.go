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

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/apps"
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

// otherAuth is a second caller, a different lease owner than testToken's.
var otherAuth = httptransport.BearerToken("someone-else")

// env is an emulator with one app, and the generated client aimed at it.
type env struct {
	t   *testing.T
	srv *Server
	c   *client.MachinesAPI
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
	if _, err := en.c.Apps.AppsCreateContext(en.ctx, apps.NewAppsCreateParams().WithBody(&models.CreateAppRequest{Name: name, OrgSlug: org}), nil); err != nil {
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
	res, err := en.c.Machines.MachinesCreateContext(en.ctx, machines.NewMachinesCreateParams().WithAppName(testApp).WithBody(req), nil)
	if err != nil {
		en.t.Fatalf("create: %v", errText(err))
	}
	return res.Payload
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
	res, err := en.c.Machines.MachinesShowContext(en.ctx, machines.NewMachinesShowParams().WithAppName(testApp).WithMachineID(id), nil)
	if err != nil {
		en.t.Fatalf("show %s: %v", id, errText(err))
	}
	return res.Payload
}

// waitFor polls GET until the Machine is in state: independent of
// Machines_wait, so it can check that too.
func (en *env) waitFor(id, state string) *models.Machine {
	en.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := en.show(id)
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
	res, err := en.c.Machines.MachinesListEventsContext(en.ctx, machines.NewMachinesListEventsParams().WithAppName(testApp).WithMachineID(id).WithLimit(conv.Pointer(int64(50))), nil)
	if err != nil {
		en.t.Fatalf("events: %v", errText(err))
	}
	return res.Payload
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
	if _, err := en.c.Machines.MachinesStopContext(en.ctx, machines.NewMachinesStopParams().WithAppName(testApp).WithMachineID(id), nil); err != nil {
		en.t.Fatalf("stop: %v", errText(err))
	}
}

// codeOf is the HTTP status of a client result: 200 for no error, the
// status of an API error, or 0 for a transport error.
func codeOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()
	}
	return 0
}

// errorBody is the ErrorResponse of an API error, if it has one.
func errorBody(err error) *models.ErrorResponse {
	var p interface{ GetPayload() *models.ErrorResponse }
	if errors.As(err, &p) {
		return p.GetPayload()
	}
	return nil
}

func errText(err error) string {
	if b := errorBody(err); b != nil {
		return err.Error() + ": " + b.Error
	}
	return err.Error()
}

// withQuery adds raw query parameters to a generated-client call, for the
// metadata.{key} filters the generated parameters cannot express.
func withQuery(kv ...string) machines.ClientOption {
	return func(op *runtime.ClientOperation) {
		inner := op.Params
		op.Params = runtime.ClientRequestWriterFunc(func(r runtime.ClientRequest, reg strfmt.Registry) error {
			if err := inner.WriteToRequest(r, reg); err != nil {
				return err
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if err := r.SetQueryParam(kv[i], kv[i+1]); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// withHeader adds a header to a generated-client call.
func withHeader(name, value string) machines.ClientOption {
	return func(op *runtime.ClientOperation) {
		inner := op.Params
		op.Params = runtime.ClientRequestWriterFunc(func(r runtime.ClientRequest, reg strfmt.Registry) error {
			if err := inner.WriteToRequest(r, reg); err != nil {
				return err
			}
			return r.SetHeaderParam(name, value)
		})
	}
}

// rawGet is a plain HTTP GET with the test token, for headers the
// generated client does not surface.
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

// asErr is errors.As for a typed client error.
func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

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
