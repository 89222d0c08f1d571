package flymachines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
	oaerrors "github.com/go-openapi/errors"
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
)

// answer makes a handler that always answers status with body and headers.
func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func checkSentinels(t *testing.T, err error, want ...string) {
	t.Helper()
	for name, s := range sentinels {
		if got := errors.Is(err, s); got != slices.Contains(want, name) {
			t.Errorf("errors.Is(err, %s) = %v, want %v (err: %v)", name, got, !got, err)
		}
	}
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	// Each case runs in a synctest bubble, whose clock starts at midnight
	// UTC, 2000-01-01, and stands still while the call runs.
	httpDate := time.Date(2000, 1, 1, 0, 1, 30, 0, time.UTC).Format(http.TimeFormat)
	cases := []sentinelCase{
		{name: "404", status: 404, body: `{"error":"machine not found"}`, want: []string{"ErrNotFound"}},
		{name: "401", status: 401, body: `{"error":"token is not authorized"}`, want: []string{"ErrUnauthorized"}},
		{name: "403", status: 403, body: `{"error":"forbidden"}`, want: []string{"ErrUnauthorized"}},
		{name: "409", status: 409, body: `{"error":"conflict"}`, want: []string{"ErrConflict"}},
		{name: "412", status: 412, body: `{"error":"machine version mismatch"}`, want: []string{"ErrConflict", "ErrWrongState"}},
		{name: "name taken", status: 422, body: `{"error":"app name taken","status":"name_taken"}`, want: []string{"ErrConflict", "ErrInvalidArgument"}},
		{
			name: "lease held", status: 409,
			body: `{"error":"machine ID 2879325b42d318 lease currently held by 9af60c27-ee17-55df-bb0a-4f369e59839a@tokens.fly.io, expires at 2026-05-14T10:41:08Z"}`,
			want: []string{"ErrConflict", "ErrLeaseHeld"},
			more: func(t *testing.T, e *APIError) {
				lh, ok := errors.AsType[*LeaseHeldError](e)
				if !ok {
					t.Fatal("no *LeaseHeldError")
				}
				if lh.Owner != "9af60c27-ee17-55df-bb0a-4f369e59839a@tokens.fly.io" {
					t.Errorf("owner = %q", lh.Owner)
				}
				if want := time.Date(2026, 5, 14, 10, 41, 8, 0, time.UTC); !lh.ExpiresAt.Equal(want) {
					t.Errorf("expiry = %v", lh.ExpiresAt)
				}
			},
		},
		{
			name: "429 seconds", status: 429, body: `{"error":"rate limited"}`, headers: []string{"Retry-After", "7"},
			want: []string{"ErrRateLimited"},
			more: func(t *testing.T, e *APIError) { wantEq(t, "RetryAfter", e.RetryAfter, 7*time.Second) },
		},
		{
			name: "429 date", status: 429, body: `{"error":"rate limited"}`, headers: []string{"Retry-After", httpDate},
			want: []string{"ErrRateLimited"},
			more: func(t *testing.T, e *APIError) { wantEq(t, "RetryAfter", e.RetryAfter, 90*time.Second) },
		},
		{name: "408", status: 408, body: `{"error":"timeout"}`, want: []string{"ErrTimeout"}},
		{name: "deadline_exceeded", status: 500, body: `{"error":"deadline","status":"deadline_exceeded"}`, want: []string{"ErrTimeout"}},
		{name: "400", status: 400, body: `{"error":"invalid_argument: bad region"}`, want: []string{"ErrInvalidArgument"}},
		{name: "422", status: 422, body: `{"error":"unprocessable"}`, want: []string{"ErrInvalidArgument"}},
		{
			name: "insufficient_capacity", status: 412, body: `{"error":"no room in ord","status":"insufficient_capacity"}`,
			want: []string{"ErrCapacity", "ErrConflict"},
			more: func(t *testing.T, e *APIError) { wantEq(t, "Status", e.Status, "insufficient_capacity") },
		},
		{name: "volume_placement_capacity", status: 500, body: `{"error":"x","status":"volume_placement_capacity"}`, want: []string{"ErrCapacity"}},
		{name: "capacity message", status: 500, body: `{"error":"could not reserve resource for machine: insufficient capacity"}`, want: []string{"ErrCapacity"}},
		{name: "500", status: 500, body: `{"error":"internal"}`, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, tc.check)
		})
	}
}

// sentinelCase is one answer of TestSentinels and what it must give.
type sentinelCase struct {
	name    string
	status  int
	body    string
	headers []string
	want    []string
	more    func(t *testing.T, e *APIError)
}

func (tc sentinelCase) check(t *testing.T) {
	headers := append([]string{"fly-request-id", "01REQ" + tc.name}, tc.headers...)
	c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(answer(tc.status, tc.body, headers...))}),
		WithoutRetries())
	_, err := callShow(t, c, "app", "m1")
	e, ok := errors.AsType[*APIError](err)
	if !ok {
		t.Fatalf("err = %T %v, want *APIError", err, err)
	}
	checkSentinels(t, err, tc.want...)
	wantEq(t, "Op", e.Op, "Machines_show")
	wantEq(t, "StatusCode", e.StatusCode, tc.status)
	wantEq(t, "RequestID", e.RequestID, "01REQ"+tc.name)
	if e.Message == "" || !strings.Contains(err.Error(), e.Message) || !strings.Contains(err.Error(), e.RequestID) {
		t.Errorf("Error() = %q", err.Error())
	}
	// The APIError keeps what it read, redacted, and wraps nothing but its
	// sentinels: the raw answer (*call.Error, its body unredacted) is not
	// reachable.
	if _, ok := errors.AsType[*call.Error](err); ok {
		t.Errorf("the raw *call.Error is reachable: %v", err)
	}
	for _, k := range e.Unwrap() {
		if _, isLease := k.(*LeaseHeldError); !isLease && !slices.Contains(slices.Collect(maps.Values(sentinels)), k) {
			t.Errorf("the APIError wraps %T %v", k, k)
		}
	}
	if tc.more != nil {
		tc.more(t, e)
	}
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestDeclaredErrorResponse: a 4xx the spec declares with a body of its
// own is decorated the same way: the APIError carries the API's status
// and message.
func TestDeclaredErrorResponse(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, answer(422, `{"error":"name has already been taken","status":"name_taken"}`))
	c := newTestClient(t, rec.URL)
	_, err := c.Apps.Create(context.Background(), &models.CreateAppRequest{Name: "taken", OrgSlug: "personal"})
	checkSentinels(t, err, "ErrConflict", "ErrInvalidArgument")
	e, ok := errors.AsType[*APIError](err)
	if !ok || e.Status != string(models.MainStatusCodeNameTaken) || e.Message != "name has already been taken" || e.Op != ops.AppsCreate {
		t.Errorf("err = %#v", err)
	}
}

// TestHostileBodies: whatever the server sends, the caller gets an
// *APIError with the right status and a short, printable message.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("A", 10<<20)
	cases := []struct {
		name, contentType, body string
		status                  int
		wantMsg                 string
	}{
		{"html", "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "502 Bad Gateway"},
		{"invalid json", "application/json", `{"error": "unterminated`, 500, "unterminated"},
		{"wrong types", "application/json", `{"error": 5, "status": ["x"]}`, 400, "error"},
		{"message not error", "application/json", `{"message": "use message"}`, 503, "use message"},
		{"unknown content type", "application/x-weird", `{"error":"weird"}`, 500, "weird"},
		{"bad content type", "this is not; a=content type;", `{"error":"bad ct"}`, 500, "bad ct"},
		{"empty", "application/json", ``, 502, "bad gateway"},
		{"huge json string", "application/json", `{"error":"` + huge + `"}`, 500, "AAAA"},
		{"huge text", "text/plain", huge, 500, "AAAA"},
		{"newlines and controls", "application/json", `{"error":"line1\nline2\r\u0007\u2028end"}`, 500, "line1 line2"},
		{"invalid utf-8", "text/plain", "bad \xff\xfe bytes", 500, "bad"},
		{"deep nesting", "application/json", strings.Repeat("[", 100000), 500, "[[["},
		{"null", "application/json", `null`, 500, "internal server error"},
		{"details hostile", "application/json", `{"error":"x","details":{"a":` + strings.Repeat(`[`, 5000) + `}}`, 500, "x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			c := newTestClient(t, rec.URL)
			_, err := callShow(t, c, "app", "m1")
			e, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("err = %T %v, want *APIError", err, err)
			}
			wantEq(t, "StatusCode", e.StatusCode, tc.status)
			if !strings.Contains(e.Message, tc.wantMsg) {
				t.Errorf("Message = %.200q, want it to contain %q", e.Message, tc.wantMsg)
			}
			if len(e.Message) > maxMessage+len("…") || len(e.Details) > maxErrorSnippet {
				t.Errorf("kept %d bytes of message, %d of details", len(e.Message), len(e.Details))
			}
			if strings.ContainsAny(err.Error(), "\n\r\u2028") {
				t.Errorf("Error() has a line break: %q", err.Error())
			}
		})
	}
}

// TestTransportErrors: without an HTTP response the error is the
// transport's, wrapped with the operation and still inspectable.
func TestTransportErrors(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	addr := rec.URL
	rec.Close()
	c := newTestClient(t, addr)
	_, err := callShow(t, c, "app", "m1")
	if err == nil {
		t.Fatal("want an error")
	}
	if _, ok := errors.AsType[*APIError](err); ok {
		t.Errorf("a dial error became an *APIError: %v", err)
	}
	if _, ok := errors.AsType[*net.OpError](err); !ok {
		t.Errorf("the *net.OpError is not reachable: %v", err)
	}
	if !strings.Contains(err.Error(), "Machines_show") {
		t.Errorf("Error() = %q lacks the operation", err.Error())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Machines.Show(ctx, "a", "m", nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestSubmitterSendsOnlyKnownCalls: the submitter sends what the generated
// client builds (a *call.Request) of an operation the facts table knows,
// and refuses anything else before sending: a hand-made go-openapi
// operation would skip the checks, and an unknown operation has no facts
// to retry or limit it by. A call.Request of a known operation, made by
// hand, is sent and decorated like the generated ones.
func TestSubmitterSendsOnlyKnownCalls(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, answer(404, `{"error":"gone"}`, "fly-request-id", "req-9"))
	c := newTestClient(t, rec.URL)
	ctx := context.Background()

	foreign := &runtime.ClientOperation{
		ID: "Custom_op", Method: http.MethodGet, PathPattern: "/v1/custom",
		Params: runtime.ClientRequestWriterFunc(func(runtime.ClientRequest, strfmt.Registry) error { return nil }),
		Reader: runtime.ClientResponseReaderFunc(func(runtime.ClientResponse, runtime.Consumer) (any, error) { return nil, nil }),
	}
	_, err := c.sub.SubmitContext(ctx, foreign)
	if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.Op != "Custom_op" {
		t.Errorf("a foreign operation: err = %v, want a *ValidationError", err)
	}
	err = call.Do(ctx, c.sub, call.New("Custom_op", http.MethodGet, "/v1/custom", 200), nil, nil)
	if _, ok := errors.AsType[*ValidationError](err); !ok || !strings.Contains(err.Error(), "unknown operation") {
		t.Errorf("an unknown operation: err = %v, want a *ValidationError", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}

	r := call.New(ops.AppsShow, http.MethodGet, "/v1/apps/{app_name}", 200)
	r.PathParam("app_name", "x")
	err = call.Do(ctx, c.sub, r, nil, nil)
	e, ok := errors.AsType[*APIError](err)
	if !ok {
		t.Fatalf("err = %T %v", err, err)
	}
	checkSentinels(t, err, "ErrNotFound")
	wantEq(t, "Op", e.Op, ops.AppsShow)
	wantEq(t, "Message", e.Message, "gone")
	wantEq(t, "RequestID", e.RequestID, "req-9")
	wantEq(t, "path", rec.last(t).Path, "/v1/apps/x")
}

// TestValidationBeforeSending: invalid bodies and empty path parameters
// are refused without a request.
func TestValidationBeforeSending(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	ctx := context.Background()

	body := &models.MainGetPlacementsRequest{Region: "ord"} // org_slug is required
	_, err := c.Platform.Placements(ctx, body)
	checkSentinels(t, err, "ErrInvalidArgument")
	if _, ok := errors.AsType[*ValidationError](err); !ok || !strings.Contains(err.Error(), "org_slug") {
		t.Errorf("err = %v", err)
	}
	if _, ok := errors.AsType[*oaerrors.Validation](err); !ok {
		t.Errorf("the model's validation error is not reachable: %v", err)
	}

	for _, ids := range [][2]string{{"", "m1"}, {"app", ""}} {
		_, err = callShow(t, c, ids[0], ids[1])
		checkSentinels(t, err, "ErrInvalidArgument")
		if err == nil || !strings.Contains(err.Error(), "empty path parameter") {
			t.Errorf("err = %v", err)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}

	// A valid body goes out.
	body.OrgSlug = new("personal")
	if _, err := c.Platform.Placements(ctx, body); err != nil {
		t.Fatal(err)
	}
	if len(rec.requests()) != 1 {
		t.Error("the valid request was not sent")
	}
}

func TestParseLeaseHeld(t *testing.T) {
	t.Parallel()
	cases := []struct {
		msg, owner string
		expiry     time.Time
	}{
		{"lease currently held by me@x.io, expires at 2026-05-14T10:41:08Z", "me@x.io", time.Date(2026, 5, 14, 10, 41, 8, 0, time.UTC)},
		{"failed: Lease Currently Held By a@b, expires at 2026-05-14T10:41:08.5+02:00.", "a@b", time.Date(2026, 5, 14, 8, 41, 8, 5e8, time.UTC)},
		{"lease currently held by a@b, expires at 2026-05-14 10:41:08.123 +0000 UTC", "a@b", time.Date(2026, 5, 14, 10, 41, 8, 123e6, time.UTC)},
		{"lease currently held by a@b, expires at soon", "a@b", time.Time{}},
	}
	for _, tc := range cases {
		lh := parseLeaseHeld(tc.msg)
		if lh == nil {
			t.Errorf("%q: not recognised", tc.msg)
			continue
		}
		if lh.Owner != tc.owner || !lh.ExpiresAt.Equal(tc.expiry) {
			t.Errorf("%q: got %q %v", tc.msg, lh.Owner, lh.ExpiresAt)
		}
	}
	if parseLeaseHeld("machine not found") != nil {
		t.Error("an unrelated message was read as a lease")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                  0,
		"3":                 3 * time.Second,
		" 120 ":             2 * time.Minute,
		"-5":                0,
		"99999999999999999": maxRetryAfter,
		"soon":              0,
		now.Add(time.Minute).Format(http.TimeFormat): time.Minute,
		now.Add(-time.Hour).Format(http.TimeFormat):  0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestErrorOutputHasNoToken: a server echoing the token in every field
// still yields errors that do not show it.
func TestErrorOutputHasNoToken(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"application/json", "text/plain"} {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			auth := r.Header.Get("Authorization")
			w.Header().Set("Content-Type", ct)
			w.Header().Set("fly-request-id", auth)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"error":%q,"status":%q,"details":[%q]}`, auth, strings.TrimPrefix(auth, "FlyV1 "), auth)
		})
		c := newTestClient(t, rec.URL, WithToken("fm2_aaaaaaaaSECRET1,fm2_bbbbbbbbSECRET2"))
		_, err := callShow(t, c, "a", "m")
		if err == nil {
			t.Fatal("want an error")
		}
		out := fmt.Sprintf("%v|%+v|%#v|%s", err, err, err, err.Error())
		if e, ok := errors.AsType[*APIError](err); ok {
			out += string(e.Details) + e.Status + e.Message
		}
		if strings.Contains(out, "SECRET") {
			t.Errorf("%s: token in error output: %s", ct, out)
		}
	}
}

// TestClientSideTimeout: a call that runs out of time on this side
// matches ErrTimeout and context.DeadlineExceeded, and is no *APIError.
func TestClientSideTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(hang)}))
		_, err := c.Machines.Show(context.Background(), "a", "m", nil, call.WithTimeout(200*time.Millisecond))
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if _, ok := errors.AsType[*APIError](err); ok {
			t.Errorf("err = %T", err)
		}
		checkSentinels(t, err, "ErrTimeout")
	})
}

// TestErrorCutInsideToken: an echoed token that straddles the point where
// the kept body is cut leaves nothing of itself in the error.
func TestErrorCutInsideToken(t *testing.T) {
	t.Parallel()
	// Runs of spaces are squeezed in messages, so a token cut at the end of
	// the kept body can reach the message; x's make the message cut instead.
	for _, pad := range []string{strings.Repeat(" ", maxErrorSnippet-20), strings.Repeat("x", maxMessage-20)} {
		rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, pad+r.Header.Get("Authorization")+strings.Repeat("y", 10000))
		})
		c := newTestClient(t, rec.URL, WithToken(testMacaroon))
		_, err := callShow(t, c, "a", "m")
		if err == nil {
			t.Fatal("want an error")
		}
		if strings.Contains(err.Error(), "lJPEC") || strings.Contains(err.Error(), "fm2_l") {
			t.Errorf("part of the token in %q", err.Error()[max(0, len(err.Error())-80):])
		}
	}
}

// leaseConflictDocs is the lease conflict as Fly's docs show it
// (superfly/docs reference/machines/_lease_resp.erb, 2022-10; in
// ../shared/realbodies as e01-docs2022-lease-409.json): the API's second
// error shape.
const leaseConflictDocs = `{
  "status": "error",
  "message": "machine ID 3d8d413b29d089 lease currently held by hello@fly.io, expires at 2022-10-20 19:59:06 +0000 UTC",
  "code": "invalid"
}`

// TestBothErrorShapes: {"error","status"} and {"status":"error","message",
// "code"} both give an *APIError with the message; the documented lease
// conflict gives a *LeaseHeldError with its owner and expiry.
func TestBothErrorShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, message, status string
	}{
		{"error and status", `{"error":"lease currently held by hello@fly.io, expires at 2022-10-20 19:59:06 +0000 UTC","status":"unknown"}`,
			"lease currently held by hello@fly.io, expires at 2022-10-20 19:59:06 +0000 UTC", "unknown"},
		{"status error, message and code", leaseConflictDocs,
			"machine ID 3d8d413b29d089 lease currently held by hello@fly.io, expires at 2022-10-20 19:59:06 +0000 UTC", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				c := newTestClient(t, memBaseURL, WithHTTPClient(&http.Client{Transport: inmem.Transport(answer(409, tc.body))}), WithoutRetries())
				_, err := c.Machines.Show(context.Background(), "a", "3d8d413b29d089", nil)
				e, ok := errors.AsType[*APIError](err)
				if !ok || e.Message != tc.message || e.Status != tc.status {
					t.Fatalf("err = %#v, want message %q and status %q", err, tc.message, tc.status)
				}
				checkSentinels(t, err, "ErrConflict", "ErrLeaseHeld")
				lh, ok := errors.AsType[*LeaseHeldError](err)
				if !ok || lh.Owner != "hello@fly.io" || !lh.ExpiresAt.Equal(time.Date(2022, 10, 20, 19, 59, 6, 0, time.UTC)) {
					t.Errorf("lease held: %+v", lh)
				}
			})
		})
	}
}
