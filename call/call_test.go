package call_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// wire is the other end of go-openapi's runtime: it keeps the request as
// sent and answers with a canned status, headers and body.
type wire struct {
	status int
	header map[string]string
	body   string

	req  *http.Request
	sent []byte
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	w.req = r
	w.sent = nil
	if r.Body != nil {
		w.sent, _ = io.ReadAll(r.Body)
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range w.header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status), Header: h,
		Body: io.NopCloser(strings.NewReader(w.body)), ContentLength: int64(len(w.body)), Request: r}, nil
}

// transport is go-openapi's runtime over w, as the facade has it (minus
// the facade's own checks).
func (w *wire) transport() runtime.ContextualTransport {
	rt := httptransport.New("api.test", "/", []string{"https"})
	rt.Transport = w
	return rt
}

func TestQueryEncodings(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	for _, tc := range []struct {
		name string
		set  func(r *call.Request)
		want string // the raw query, parameters in name order
	}{
		{"bool true", func(r *call.Request) { r.QueryBool("force", true) }, "force=true"},
		{"bool false is omitted", func(r *call.Request) { r.QueryBool("force", false) }, ""},
		{"nullable bool unset", func(r *call.Request) { r.QueryBoolPtr("autostart", nil) }, ""},
		{"nullable bool false is sent", func(r *call.Request) { r.QueryBoolPtr("autostart", &no) }, "autostart=false"},
		{"nullable bool true", func(r *call.Request) { r.QueryBoolPtr("autostart", &yes) }, "autostart=true"},
		{"int", func(r *call.Request) { r.QueryInt("timeout", 45) }, "timeout=45"},
		{"negative int", func(r *call.Request) { r.QueryInt("signal", -1) }, "signal=-1"},
		{"int zero is omitted", func(r *call.Request) { r.QueryInt("limit", 0) }, ""},
		{"string empty is omitted", func(r *call.Request) { r.QueryString("region", "") }, ""},
		{"string escaped", func(r *call.Request) { r.QueryString("cursor", "a b&c=d/é") }, "cursor=a+b%26c%3Dd%2F%C3%A9"},
		{"multi", func(r *call.Request) { r.QueryMulti("state", []string{"started", "failed"}) }, "state=started&state=failed"},
		{"multi empty is omitted", func(r *call.Request) { r.QueryMulti("state", nil) }, ""},
		{"csv", func(r *call.Request) { r.QueryCSV("fields", []string{"id", "state"}) }, "fields=id%2Cstate"},
		{"csv empty is omitted", func(r *call.Request) { r.QueryCSV("fields", []string{}) }, ""},
		{"several", func(r *call.Request) {
			r.QueryString("region", "ord")
			r.QueryBool("summary", true)
			r.QueryInt("limit", 10)
		}, "limit=10&region=ord&summary=true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &wire{body: `{}`}
			r := call.New("Test_op", http.MethodGet, "/v1/things", http.StatusOK)
			tc.set(r)
			if err := call.Do(context.Background(), w.transport(), r, nil, nil); err != nil {
				t.Fatal(err)
			}
			if got := w.req.URL.Query().Encode(); got != tc.want {
				t.Errorf("query %q, want %q", got, tc.want)
			}
		})
	}
}

// TestGeneratedParamsOnTheWire: a generated method's optional parameters
// go out as the API reads them, and the zero value sends none.
func TestGeneratedParamsOnTheWire(t *testing.T) {
	t.Parallel()
	w := &wire{body: `[]`}
	c := machines.New(w.transport())
	ctx := context.Background()
	if _, err := c.List(ctx, "my app", &machines.ListParams{
		IncludeDeleted: true, Limit: 50, Region: "ord", Metadata: map[string]string{"role": "worker", "tier": "a b"},
	}, call.WithQuery("extra", "1")); err != nil {
		t.Fatal(err)
	}
	const want = "extra=1&include_deleted=true&limit=50&metadata.role=worker&metadata.tier=a+b&region=ord"
	if got := w.req.URL.Query().Encode(); got != want || w.req.URL.EscapedPath() != "/v1/apps/my%20app/machines" {
		t.Errorf("sent %s?%s, want /v1/apps/my%%20app/machines?%s", w.req.URL.EscapedPath(), got, want)
	}
	for _, params := range []*machines.ListParams{nil, {}} {
		if _, err := c.List(ctx, "a", params); err != nil {
			t.Fatal(err)
		}
		if w.req.URL.RawQuery != "" {
			t.Errorf("%#v sent %q", params, w.req.URL.RawQuery)
		}
	}
	w.body = `{"ok":true}`
	if _, err := c.Wait(ctx, "a", "m/1", &machines.WaitParams{State: []string{"stopped", "failed"}, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	if got := w.req.URL.Query().Encode(); got != "state=stopped&state=failed&timeout=30" || w.req.URL.EscapedPath() != "/v1/apps/a/machines/m%2F1/wait" {
		t.Errorf("wait sent %s?%s", w.req.URL.EscapedPath(), got)
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	w := &wire{body: `{}`}
	r := call.New("Test_op", http.MethodPost, "/v1/things", http.StatusOK)
	r.Header("fly-machine-lease-nonce", "")
	r.Header("X-Set", "1")
	if r.HeaderValue("fly-machine-lease-nonce") != "" || r.HeaderValue("x-set") != "1" {
		t.Errorf("HeaderValue: %q %q", r.HeaderValue("fly-machine-lease-nonce"), r.HeaderValue("x-set"))
	}
	if err := call.Do(context.Background(), w.transport(), r, nil, []call.Option{nil, call.WithHeader("X-Trace", "t1")}); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.req.Header["Fly-Machine-Lease-Nonce"]; ok {
		t.Error("an empty header was sent")
	}
	if w.req.Header.Get("X-Set") != "1" || w.req.Header.Get("X-Trace") != "t1" {
		t.Errorf("headers %v", w.req.Header)
	}
}

// TestSetBody: the generated methods pass a nil body as SetBody(body,
// body != nil): a typed nil sends no body at all (not "null"), and the
// request has none to check, also when a hand-built request says it is
// present; a body goes out as its JSON.
func TestSetBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := &wire{body: `{"id":"m1"}`}

	var none *models.CreateMachineRequest
	r := call.New("Machines_create", http.MethodPost, "/v1/apps/{app_name}/machines", http.StatusOK)
	r.PathParam("app_name", "a")
	r.SetBody(none, none != nil)
	if r.Body() != nil {
		t.Errorf("Body() = %#v, want nil", r.Body())
	}
	if err := call.Do(ctx, w.transport(), r, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(w.sent) != 0 {
		t.Errorf("a nil body went out as %q", w.sent)
	}
	if _, err := machines.New(w.transport()).Create(ctx, "a", nil); err != nil || len(w.sent) != 0 {
		t.Errorf("the generated create with a nil body sent %q (%v)", w.sent, err)
	}
	// A typed nil said to be present is no body either, never "null".
	for _, v := range []any{none, map[string]string(nil), []string(nil), nil} {
		r.SetBody(v, true)
		if r.Body() != nil {
			t.Errorf("SetBody(%#v, true): Body() = %#v, want nil", v, r.Body())
		}
		if err := call.Do(ctx, w.transport(), r, nil, nil); err != nil || len(w.sent) != 0 {
			t.Errorf("SetBody(%#v, true) sent %q (%v)", v, w.sent, err)
		}
	}

	body := &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}}
	m, err := machines.New(w.transport()).Create(ctx, "a", body)
	if err != nil || m.ID != "m1" {
		t.Fatalf("create: %+v, %v", m, err)
	}
	if got := string(bytes.TrimSpace(w.sent)); got != `{"config":{"image":"nginx"}}` {
		t.Errorf("sent %s", got)
	}
	if ct := w.req.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestAnswers: how each kind of answer reads.
func TestAnswers(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100<<10)
	type result = *models.Machine
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		noModel bool // the operation answers no body
		list    bool // the operation answers a list
		check   func(t *testing.T, err error, m result, list []*models.Machine)
	}{
		{name: "success", status: 200, body: `{"id":"m1","state":"started"}`, check: func(t *testing.T, err error, m result, _ []*models.Machine) {
			if err != nil || m.ID != "m1" || m.State != "started" {
				t.Errorf("%+v, %v", m, err)
			}
		}},
		{name: "another declared success", status: 201, body: `{"id":"m1"}`, check: func(t *testing.T, err error, m result, _ []*models.Machine) {
			if err != nil || m.ID != "m1" {
				t.Errorf("%+v, %v", m, err)
			}
		}},
		{name: "non-success", status: 404, body: `{"error":"not found"}`, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			e, ok := errors.AsType[*call.Error](err)
			if !ok || e.Op != "Test_op" || e.StatusCode != 404 || string(e.Body) != `{"error":"not found"}` {
				t.Errorf("err = %#v", err)
			}
			if err.Error() != "Test_op: HTTP 404" {
				t.Errorf("Error() = %q", err.Error())
			}
		}},
		{name: "non-success body is cut at 64 KiB", status: 500, body: big, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if e, ok := errors.AsType[*call.Error](err); !ok || len(e.Body) != 64<<10 {
				t.Errorf("err = %T, body kept %d bytes", err, len(e.Body))
			}
		}},
		{name: "undeclared 2xx", status: 202, body: `{"id":"m1"}`, check: func(t *testing.T, err error, m result, _ []*models.Machine) {
			if e, ok := errors.AsType[*call.Error](err); !ok || e.StatusCode != 202 || m != nil {
				t.Errorf("err = %#v, m = %+v", err, m)
			}
		}},
		{name: "empty", status: 200, body: ``, check: func(t *testing.T, err error, m result, _ []*models.Machine) {
			d, ok := errors.AsType[*call.DecodeError](err)
			if !ok || !errors.Is(err, call.ErrEmptyAnswer) || d.StatusCode != 200 || d.Op != "Test_op" || m != nil {
				t.Errorf("err = %#v, m = %+v", err, m)
			}
		}},
		{name: "null", status: 200, body: `null`, check: func(t *testing.T, err error, m result, _ []*models.Machine) {
			if _, ok := errors.AsType[*call.DecodeError](err); !ok || !errors.Is(err, call.ErrEmptyAnswer) || m != nil {
				t.Errorf("err = %#v, m = %+v", err, m)
			}
		}},
		{name: "truncated", status: 200, body: `{"id":"m1","sta`, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if _, ok := errors.AsType[*call.DecodeError](err); !ok || errors.Is(err, call.ErrEmptyAnswer) {
				t.Errorf("err = %#v", err)
			}
			if !strings.HasPrefix(err.Error(), "Test_op: reading the HTTP 200 answer: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		}},
		{name: "wrong type", status: 200, body: `[1,2]`, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if _, ok := errors.AsType[*call.DecodeError](err); !ok {
				t.Errorf("err = %#v", err)
			}
		}},
		{name: "null list reads as empty", status: 200, body: `null`, list: true, check: func(t *testing.T, err error, _ result, list []*models.Machine) {
			if err != nil || len(list) != 0 {
				t.Errorf("%v, %v", list, err)
			}
		}},
		{name: "empty list body", status: 200, body: ``, list: true, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if !errors.Is(err, call.ErrEmptyAnswer) {
				t.Errorf("err = %v", err)
			}
		}},
		{name: "no model: the body is not read", status: 200, body: `not json`, noModel: true, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if err != nil {
				t.Errorf("err = %v", err)
			}
		}},
		{name: "no model: an empty body", status: 200, body: ``, noModel: true, check: func(t *testing.T, err error, _ result, _ []*models.Machine) {
			if err != nil {
				t.Errorf("err = %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := &wire{status: tc.status, body: tc.body}
			r := call.New("Test_op", http.MethodGet, "/v1/things", 200, 201)
			var m result
			var list []*models.Machine
			var out any = &m
			switch {
			case tc.noModel:
				out = nil
			case tc.list:
				out = &list
			}
			err := call.Do(context.Background(), w.transport(), r, out, nil)
			tc.check(t, err, m, list)
		})
	}
}

// TestCapture: Capture fills what the answer said besides its body, on a
// success and on a failure; an uncaptured Meta reads as empty.
func TestCapture(t *testing.T) {
	t.Parallel()
	w := &wire{body: `[]`, header: map[string]string{"fly-request-id": "01REQ", "fly-next-cursor": "c2", "X-Other": "o"}}
	var meta call.Meta
	r := call.New("Test_op", http.MethodGet, "/v1/things", http.StatusOK)
	var out []*models.Machine
	if err := call.Do(context.Background(), w.transport(), r, &out, []call.Option{call.Capture(&meta)}); err != nil {
		t.Fatal(err)
	}
	if meta.StatusCode != 200 || meta.RequestID() != "01REQ" || meta.NextCursor() != "c2" || meta.Header("x-other") != "o" || meta.Header("X-Absent") != "" {
		t.Errorf("captured %d %q %q %q", meta.StatusCode, meta.RequestID(), meta.NextCursor(), meta.Header("x-other"))
	}

	w = &wire{status: 409, body: `{"error":"held"}`, header: map[string]string{"fly-request-id": "01ERR"}}
	meta = call.Meta{}
	r = call.New("Test_op", http.MethodGet, "/v1/things", http.StatusOK)
	if err := call.Do(context.Background(), w.transport(), r, nil, []call.Option{call.Capture(&meta)}); err == nil {
		t.Fatal("a 409 succeeded")
	}
	if meta.StatusCode != 409 || meta.RequestID() != "01ERR" || meta.NextCursor() != "" {
		t.Errorf("captured %d %q %q", meta.StatusCode, meta.RequestID(), meta.NextCursor())
	}

	var none *call.Meta
	if none.Header("fly-request-id") != "" || (&call.Meta{}).RequestID() != "" {
		t.Error("an empty Meta has headers")
	}
}

// TestTimeout: WithTimeout bounds the exchange; without it the runtime's
// default (30 s) applies.
func TestTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			opts []call.Option
			want time.Duration
		}{
			{nil, httptransport.DefaultTimeout},
			{[]call.Option{call.WithTimeout(75 * time.Second)}, 75 * time.Second},
		} {
			w := &wire{body: `{}`}
			r := call.New("Test_op", http.MethodGet, "/v1/things", http.StatusOK)
			if err := call.Do(context.Background(), w.transport(), r, nil, tc.opts); err != nil {
				t.Fatal(err)
			}
			dl, ok := w.req.Context().Deadline()
			if !ok || time.Until(dl) != tc.want {
				t.Errorf("deadline in %s (%v), want %s", time.Until(dl), ok, tc.want)
			}
		}
	})
}

func TestRequestAccessors(t *testing.T) {
	t.Parallel()
	r := call.New("Machines_show", http.MethodGet, "/v1/apps/{app_name}/machines/{machine_id}", 200)
	r.PathParam("app_name", "a")
	r.PathParam("machine_id", "m")
	if r.PathValue("machine_id") != "m" || r.PathValue("key") != "" || len(r.PathParams()) != 2 || r.PathParams()[0] != (call.Param{Name: "app_name", Value: "a"}) {
		t.Errorf("path params %v", r.PathParams())
	}
	r.Query("a", "1", "2")
	if got := r.QueryValues()["a"]; len(got) != 2 {
		t.Errorf("QueryValues %v", r.QueryValues())
	}
	r.Header("x-trace", "t")
	if got := r.HeaderValues(); len(got) != 1 || got.Get("X-Trace") != "t" {
		t.Errorf("HeaderValues %v", got)
	}
	r.RequiredQuery("org_slug", "")
	r.RequiredHeader("fly-machine-lease-nonce", "")
	r.RequiredQuery("database", "db")
	if got := r.Missing(); strings.Join(got, ",") != "org_slug,fly-machine-lease-nonce" || r.QueryValues().Has("org_slug") || r.HeaderValue("fly-machine-lease-nonce") != "" {
		t.Errorf("Missing() = %v, query %v", got, r.QueryValues())
	}
	call.WithQuery("org_slug", "personal")(r)
	call.WithHeader("fly-machine-lease-nonce", "n")(r)
	if got := r.Missing(); len(got) != 0 {
		t.Errorf("given by options, still missing: %v", got)
	}
	op := r.Operation()
	if op.ID != "Machines_show" || op.Method != http.MethodGet || op.PathPattern != "/v1/apps/{app_name}/machines/{machine_id}" || op.Params != r {
		t.Errorf("operation %+v", op)
	}
}
