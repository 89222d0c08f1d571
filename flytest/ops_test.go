package flytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"
)

// These tests derive from the facts table (client/ops): they hold for every
// operation it lists, so an operation the spec adds is covered without an
// edit, and one it drops leaves nothing to delete here. Where an operation
// needs data of its own (a body, a query), the data is keyed by the table's
// constants, so a dropped operation is a compile error in one place.

// opRequest is what a table-driven test sends to an operation besides its
// method and path, which come from the table.
type opRequest struct {
	values map[string]string // a value for every path parameter
	query  string            // raw query, without "?"
	body   string            // JSON body; none if empty
	header http.Header
}

// opAnswer is what an operation answered.
type opAnswer struct {
	status int
	header http.Header
	body   string
}

// errorText is the {"error"} of an error answer, "" if it has none.
func (a opAnswer) errorText() string {
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(a.body), &b)
	return b.Error
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// opURL is op's path with req's values in place of its parameters.
func opURL(t *testing.T, srv *Server, op ops.Op, req opRequest) string {
	t.Helper()
	path := pathParam.ReplaceAllStringFunc(op.Path, func(p string) string {
		name := p[1 : len(p)-1]
		v, ok := req.values[name]
		if !ok {
			t.Fatalf("%s: no value for the path parameter %s", op.ID, p)
		}
		return url.PathEscape(v)
	})
	if req.query != "" {
		path += "?" + req.query
	}
	return srv.URL() + path
}

// sendOp sends req to op with testToken, unless req.header carries an
// Authorization of its own (or an empty one, for none).
func sendOp(t *testing.T, srv *Server, op ops.Op, req opRequest) opAnswer {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(op.Method, opURL(t, srv, op, req), body)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+testToken)
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for name, values := range req.header {
		r.Header[http.CanonicalHeaderKey(name)] = values
	}
	if v, ok := req.header["Authorization"]; ok && (len(v) == 0 || v[0] == "") {
		r.Header.Del("Authorization")
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s: %v", op.ID, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: %v", op.ID, err)
	}
	return opAnswer{status: res.StatusCode, header: res.Header, body: string(b)}
}

// placeholders are values for every path parameter the table's paths
// name, for requests whose point is not the resource they reach.
func placeholders(app, machineID string) map[string]string {
	return map[string]string{
		"app_name":            app,
		"machine_id":          machineID,
		"org_slug":            "personal",
		"key":                 "k",
		"volume_id":           "vol_placeholder",
		"postgres_cluster_id": "placeholder",
		"database_name":       "db",
		"extension_name":      "ext",
		"username":            "user",
		"hostname":            "www.example.com",
		"ip":                  "192.0.2.1",
		"secret_name":         "SECRET",
	}
}

// TestEveryOperationRequiresAuth: every operation answers 401, with an
// error body and a fly-request-id, to a request without credentials or
// with a malformed Authorization, and, when the emulator accepts only
// listed tokens, to a token not listed; before it looks at anything else.
func TestEveryOperationRequiresAuth(t *testing.T) {
	srv := NewServer(t, WithTokens(testToken))
	for _, op := range ops.All() {
		for what, auth := range map[string]string{
			"none":             "",
			"another scheme":   "Basic " + testToken,
			"no token":         "Bearer ",
			"a token unlisted": "Bearer " + otherToken,
		} {
			ans := sendOp(t, srv, op, opRequest{
				values: placeholders(testApp, "0000000000000"),
				header: http.Header{"Authorization": {auth}},
			})
			if ans.status != http.StatusUnauthorized || ans.errorText() == "" || ans.header.Get("fly-request-id") == "" {
				t.Errorf("%s, %s: HTTP %d %s (fly-request-id %q), want 401 with an error and a request id",
					op.ID, what, ans.status, ans.body, ans.header.Get("fly-request-id"))
			}
		}
	}
}

// routeMissing is the error of a request no operation serves.
const routeMissing = "404 page not found"

// TestEveryOperationIsServed: every operation is routed at its method and
// path, and, given a plausible request on an app and a started Machine of
// its own, answers without a 5xx (a 501 would be a stub); each answer
// carries a fly-request-id no other answer has, as does the 404 of a path
// no operation serves.
func TestEveryOperationIsServed(t *testing.T) {
	en := newEnv(t)
	// Requests that would otherwise wait (Machines_wait defaults to 60s).
	queries := map[string]string{
		ops.MachinesWait: "timeout=1&state=settled",
	}
	all := ops.All()
	machineOf := map[string]string{}
	for i, op := range all {
		app := fmt.Sprintf("served-%d", i)
		en.createApp(app, "personal")
		m, err := en.c.Machines.Create(en.ctx, app, createBody("nginx"))
		if err != nil {
			t.Fatalf("%s: %v", op.ID, errText(err))
		}
		machineOf[app] = m.ID
	}
	seen := map[string]string{} // fly-request-id: the operation answered with it
	for i, op := range all {
		app := fmt.Sprintf("served-%d", i)
		id := machineOf[app]
		en.waitForIn(app, id, stateStarted)
		req := opRequest{values: placeholders(app, id), query: queries[op.ID]}
		if op.Method != http.MethodGet && op.Method != http.MethodDelete {
			req.body = `{}`
		}
		ans := sendOp(t, en.srv, op, req)
		switch {
		case ans.status == http.StatusMethodNotAllowed || ans.errorText() == routeMissing:
			t.Errorf("%s: %s %s is not routed: HTTP %d %s", op.ID, op.Method, op.Path, ans.status, ans.body)
		case ans.status >= 500 || ans.status == http.StatusUnauthorized:
			t.Errorf("%s: HTTP %d %s", op.ID, ans.status, ans.body)
		}
		rid := ans.header.Get("fly-request-id")
		if rid == "" {
			t.Errorf("%s: HTTP %d without a fly-request-id", op.ID, ans.status)
		} else if other, dup := seen[rid]; dup {
			t.Errorf("%s: fly-request-id %s was %s's too", op.ID, rid, other)
		}
		seen[rid] = op.ID
	}
	// What no operation serves has a request id too.
	if res := rawGet(t, en.srv, "/v1/no-such-thing"); res.StatusCode != http.StatusNotFound || res.Header.Get("fly-request-id") == "" {
		t.Errorf("an unrouted path: HTTP %d, fly-request-id %q", res.StatusCode, res.Header.Get("fly-request-id"))
	}
}

// TestEveryOperationRateClass: with Fly's limits on, every operation
// draws from a bucket of its own whose size is its RateClass's burst
// (get_machine: 10, default: 3), and past it answers 429 with Retry-After.
func TestEveryOperationRateClass(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	// No apps: the requests that get through answer 404 or 400, and change
	// nothing.
	srv := NewServer(t, WithClock(clock), WithRateLimits())
	bursts := map[string]int{"default": actionBurst, "get_machine": getBurst}
	for _, op := range ops.All() {
		burst, ok := bursts[op.RateClass]
		if !ok {
			t.Errorf("%s: rate class %q unknown to the emulator", op.ID, op.RateClass)
			continue
		}
		req := opRequest{values: placeholders("no-such-app", "0000000000000")}
		if op.Method != http.MethodGet && op.Method != http.MethodDelete {
			req.body = `{}`
		}
		for i := range burst {
			if ans := sendOp(t, srv, op, req); ans.status == http.StatusTooManyRequests {
				t.Fatalf("%s: request %d of a burst of %d: HTTP 429", op.ID, i+1, burst)
			}
		}
		ans := sendOp(t, srv, op, req)
		if ans.status != http.StatusTooManyRequests || ans.header.Get("Retry-After") == "" || !strings.Contains(ans.errorText(), op.ID) {
			t.Errorf("%s: request %d: HTTP %d %s (Retry-After %q), want 429 past the %s burst",
				op.ID, burst+1, ans.status, ans.body, ans.header.Get("Retry-After"), op.RateClass)
		}
		if ans.header.Get("fly-request-id") == "" {
			t.Errorf("%s: 429 without a fly-request-id", op.ID)
		}
	}
}
