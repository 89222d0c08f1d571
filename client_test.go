package flymachines

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// callShow calls Machines_show straight through the generated client.
func callShow(t *testing.T, c *Client, app, id string, opts ...call.Option) (*models.Machine, error) {
	t.Helper()
	return c.Machines.Show(ctxTimeout(t, 10*time.Second), app, id, nil, opts...)
}

// clearEnv unsets the variables New reads, for the duration of the test.
func clearEnv(t *testing.T) {
	for _, name := range []string{EnvAPIToken, EnvAccessToken, EnvAPIHostname} {
		t.Setenv(name, "")
	}
}

// TestAuthorizationOnTheWire sends one request per token kind and checks
// the exact Authorization header the server gets.
func TestAuthorizationOnTheWire(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	for _, tc := range tokenCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(WithToken(tc.in), WithBaseURL(rec.URL))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := callShow(t, c, "app", "m1"); err != nil {
				t.Fatal(err)
			}
			if got := rec.last(t).Header.Get("Authorization"); got != tc.header {
				t.Errorf("Authorization = %q, want %q", got, tc.header)
			}
		})
	}
}

func TestRequestOnTheWire(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL+"/prefix")
	if _, err := callShow(t, c, "my-app", "m 1?x#é"); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if r.Method != http.MethodGet || r.Path != "/prefix/v1/apps/my-app/machines/m%201%3Fx%23%C3%A9" || len(r.Query) != 0 {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	if got := r.Header.Get("User-Agent"); got != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", got, DefaultUserAgent)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}

	c = newTestClient(t, rec.URL, WithUserAgent("my-tool/1.2"))
	if _, err := callShow(t, c, "a", "m"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).Header.Get("User-Agent"); got != "my-tool/1.2" {
		t.Errorf("User-Agent = %q", got)
	}
	if _, err := New(WithToken(testBearer), WithUserAgent("x\r\nEvil: 1")); err == nil {
		t.Error("a user agent with a line break was accepted")
	}
}

func TestTokenFromEnvironment(t *testing.T) {
	rec := newRecorder(t, nil)
	cases := []struct {
		name          string
		apiTok, acTok string
		opts          []Option
		want          string // Authorization header; "" when New must fail
		err           error
	}{
		{name: "FLY_API_TOKEN", apiTok: testMacaroon, want: "FlyV1 " + testMacaroon},
		{name: "FLY_API_TOKEN wins", apiTok: testMacaroon, acTok: testBearer, want: "FlyV1 " + testMacaroon},
		{name: "FLY_ACCESS_TOKEN", acTok: testBearer, want: "Bearer " + testBearer},
		{name: "blank FLY_API_TOKEN is unset", apiTok: " \n", acTok: testBearer, want: "Bearer " + testBearer},
		{name: "WithToken wins", apiTok: testMacaroon, opts: []Option{WithToken(testBearer)}, want: "Bearer " + testBearer},
		{name: "no token", err: ErrNoToken},
		{name: "empty WithToken does not fall back", apiTok: testMacaroon, opts: []Option{WithToken("")}, err: ErrInvalidToken},
		{name: "malformed env token", apiTok: "fo1_abc def ghijkl", err: ErrInvalidToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(EnvAPIToken, tc.apiTok)
			t.Setenv(EnvAccessToken, tc.acTok)
			before := len(rec.requests())
			c, err := New(append([]Option{WithBaseURL(rec.URL)}, tc.opts...)...)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if strings.Contains(err.Error(), "ghijkl") {
					t.Errorf("error quotes the token: %v", err)
				}
				if len(rec.requests()) != before {
					t.Error("a request was sent")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := callShow(t, c, "a", "m"); err != nil {
				t.Fatal(err)
			}
			if got := rec.last(t).Header.Get("Authorization"); got != tc.want {
				t.Errorf("Authorization = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBaseURLFromEnvironment(t *testing.T) {
	rec := newRecorder(t, nil)
	hostPort := strings.TrimPrefix(rec.URL, "http://")

	t.Run("default is public", func(t *testing.T) {
		clearEnv(t)
		c, err := New(WithToken(testBearer))
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != PublicBaseURL {
			t.Errorf("BaseURL = %q", c.BaseURL())
		}
	})
	for _, env := range []string{rec.URL, hostPort} {
		t.Run("FLY_API_HOSTNAME="+env, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(EnvAPIHostname, env)
			c, err := New(WithToken(testBearer))
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != rec.URL {
				t.Errorf("BaseURL = %q, want %q", c.BaseURL(), rec.URL)
			}
			before := len(rec.requests())
			if _, err := callShow(t, c, "a", "m"); err != nil {
				t.Fatal(err)
			}
			if len(rec.requests()) != before+1 {
				t.Error("the request did not reach FLY_API_HOSTNAME")
			}
		})
	}
	t.Run("hostname without scheme is https", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAPIHostname, "api.machines.dev")
		c, err := New(WithToken(testBearer))
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != PublicBaseURL {
			t.Errorf("BaseURL = %q", c.BaseURL())
		}
	})
	t.Run("WithBaseURL wins", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAPIHostname, "http://api.machines.dev")
		c, err := New(WithToken(testBearer), WithBaseURL(WireGuardBaseURL))
		if err != nil {
			t.Fatal(err)
		}
		if c.BaseURL() != WireGuardBaseURL {
			t.Errorf("BaseURL = %q", c.BaseURL())
		}
	})
	t.Run("plain HTTP in the environment is refused", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(EnvAPIHostname, "http://api.machines.dev")
		_, err := New(WithToken(testBearer))
		if !errors.Is(err, ErrInsecureBaseURL) || !strings.Contains(err.Error(), EnvAPIHostname) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPlaintextRefused(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://api.machines.dev", "http://203.0.113.7:4280", "api.machines.dev:80/x?y"} {
		_, err := New(WithToken(testBearer), WithBaseURL(u))
		if err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
	_, err := New(WithToken(testBearer), WithBaseURL("http://api.machines.dev"))
	if !errors.Is(err, ErrInsecureBaseURL) {
		t.Errorf("err = %v, want ErrInsecureBaseURL", err)
	}
}

// TestRedirectKeepsToken checks the token follows a redirect only within
// the base URL's origin.
func TestRedirectKeepsToken(t *testing.T) {
	t.Parallel()
	other := newRecorder(t, nil) // same loopback host, other port: another origin
	otherHost := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var api *recorder
	api = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/away"):
			http.Redirect(w, r, otherHost+"/v1/apps/a/machines/m", http.StatusFound)
		case strings.HasSuffix(r.URL.Path, "/here"):
			http.Redirect(w, r, api.URL+"/v1/apps/a/machines/m", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte("{}"))
		}
	})
	c := newTestClient(t, api.URL)

	if _, err := callShow(t, c, "a", "here"); err != nil {
		t.Fatal(err)
	}
	if got := api.last(t).Header.Get("Authorization"); got != "Bearer "+testBearer {
		t.Errorf("same-origin redirect: Authorization = %q", got)
	}
	if _, err := callShow(t, c, "a", "away"); err != nil {
		t.Fatal(err)
	}
	if got := other.last(t).Header.Get("Authorization"); got != "" {
		t.Errorf("redirect to another origin carried Authorization %q", got)
	}
}

// TestPerCallOptionsKeepTheChain: what a call adds for itself (a header,
// a query parameter, a timeout) goes through the client's chain like the
// rest: the token and the user agent are on the request too.
func TestPerCallOptionsKeepTheChain(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	if _, err := callShow(t, c, "a", "m", call.WithHeader("X-Trace", "t1"), call.WithQuery("extra", "1"),
		call.WithTimeout(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	r := rec.last(t)
	if r.Header.Get("Authorization") != "Bearer "+testBearer || r.Header.Get("User-Agent") != DefaultUserAgent {
		t.Errorf("a call with options skipped the chain: %v", r.Header)
	}
	if r.Header.Get("X-Trace") != "t1" || r.Query.Get("extra") != "1" {
		t.Errorf("the call's own header or query is missing: %v %v", r.Header, r.Query)
	}
}

func TestWithHTTPClientNotModified(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	hc := &http.Client{}
	c := newTestClient(t, rec.URL, WithHTTPClient(hc))
	if _, err := callShow(t, c, "a", "m"); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil {
		t.Error("WithHTTPClient changed the caller's client")
	}
	if rec.last(t).Header.Get("Authorization") == "" {
		t.Error("no Authorization through a custom client")
	}
}

func TestDefaultHTTPClientHasNoOverallTimeout(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "https://api.machines.dev")
	if c.httpClient.Timeout != 0 {
		t.Errorf("client-level Timeout %s would cut long waits", c.httpClient.Timeout)
	}
}

// TestLoggingWithoutToken logs every request at debug level and checks the
// fields and that the token is nowhere, even when the server echoes it.
func TestLoggingWithoutToken(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("fly-request-id", "req-123")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error":"no such machine; you sent %s","details":{"auth":%q}}`,
			r.Header.Get("Authorization"), r.Header.Get("Authorization"))
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, rec.URL, WithToken(testMacaroon), WithLogger(logger))

	_, err := callShow(t, c, "my-app", "m1")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"method":"GET"`, `"path":"/v1/apps/my-app/machines/m1"`, `"status":404`, `"request_id":"req-123"`, `"duration":`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T", err)
	}
	out := logs.String() + err.Error() + fmt.Sprintf("%v %+v %#v %s %v %+v %#v", err, err, err, ae.Details, c, *c, c)
	if strings.Contains(out, "lJPEC") {
		t.Fatalf("token leaked:\n%s", out)
	}
	if !strings.Contains(ae.Message, redacted) {
		t.Errorf("message = %q, want the echo redacted", ae.Message)
	}
}

func TestClientFormatting(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "https://api.machines.dev", WithToken(testMacaroon))
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", c)
		fmt.Fprintf(&out, verb+"\n", *c)
		fmt.Fprintf(&out, verb+"\n", c.API)
		fmt.Fprintf(&out, verb+"\n", c.Machines)
		fmt.Fprintf(&out, verb+"\n", c.httpClient)
	}
	if strings.Contains(out.String(), "lJPEC") {
		t.Fatalf("token leaked:\n%s", out.String())
	}
}

// TestEmbeddedAPI: every generated group is reachable on *Client, and
// nothing that goes around the facade is: the runtime's SetTransport and
// Transport are not promoted.
func TestEmbeddedAPI(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"name":"my-app","organization":{"slug":"personal"}}`))
	})
	c := newTestClient(t, rec.URL)
	app, err := c.Apps.Show(context.Background(), "my-app")
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != "my-app" || rec.last(t).Path != "/v1/apps/my-app" {
		t.Errorf("got %+v via %s", app, rec.last(t).Path)
	}
	api := reflect.ValueOf(c.API).Elem()
	if api.NumField() < 13 {
		t.Errorf("client.API has %d groups", api.NumField())
	}
	for i := range api.NumField() {
		if api.Field(i).IsNil() {
			t.Errorf("c.%s is nil", api.Type().Field(i).Name)
		}
	}
	for _, name := range []string{"SetTransport", "Transport", "Submit", "SubmitContext"} {
		if _, ok := reflect.TypeOf(c).MethodByName(name); ok {
			t.Errorf("*Client has %s: a way around the facade", name)
		}
		if _, ok := reflect.TypeOf(*c).FieldByName(name); ok {
			t.Errorf("Client has a field %s: a way around the facade", name)
		}
	}
	var _ *client.API = c.API
}

// TestNoDebugDumps: DEBUG or SWAGGER_DEBUG in the environment does not make
// go-openapi print requests and bodies to stdout. go-openapi reads them at
// start-up, so the check runs in a child process.
func TestNoDebugDumps(t *testing.T) {
	if os.Getenv("FLYMACHINES_TEST_CHILD") == "1" {
		rec := newRecorder(t, nil)
		c := newTestClient(t, rec.URL)
		if _, err := callShow(t, c, "a", "m"); err != nil {
			t.Fatal(err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoDebugDumps$", "-test.v")
	cmd.Env = append(os.Environ(), "FLYMACHINES_TEST_CHILD=1", "DEBUG=1", "SWAGGER_DEBUG=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS") || strings.Contains(string(out), "/v1/apps/a/machines/m") {
		t.Errorf("child output:\n%s", out)
	}
}

// TestPlainHTTPNeverGoesThroughAProxy: whatever transport the caller
// brings (none, an *http.Transport that
// reads HTTP_PROXY), a plain-HTTP request to the private network, or one
// over a Machine's socket, is not
// handed to HTTP_PROXY, where it would carry the token in clear text. (The
// rule is the scheme's, so a *.internal name stands for fdaa:: too.)
// net/http reads HTTP_PROXY once per process, so the calls run in a child
// process that starts with it set.
func TestPlainHTTPNeverGoesThroughAProxy(t *testing.T) {
	if os.Getenv("FLYMACHINES_PROXY_CHILD") == "1" {
		// A request not handed to the proxy fails on a name that does not
		// resolve; no lookup leaves this process.
		net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no DNS in tests")
		}}
		for _, base := range []string{"http://api.flytest.internal:4280"} {
			for name, call := range map[string]func() error{
				"WithHTTPClient, nil Transport": func() error {
					_, err := callShow(t, newTestClient(t, base, WithHTTPClient(&http.Client{}), WithoutRetries()), "a", "m")
					return err
				},
				"a Transport that reads HTTP_PROXY": func() error {
					hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
					_, err := callShow(t, newTestClient(t, base, WithHTTPClient(hc), WithoutRetries()), "a", "m")
					return err
				},
			} {
				err := call()
				t.Logf("%s, %s: %v", base, name, err)
			}
		}
		// Over a Machine's socket no proxy is used either: every request
		// is answered by the socket.
		sock := filepath.Join(t.TempDir(), "api.sock")
		var srv socketServer
		srv.start(t, sock)
		for name, hc := range map[string]*http.Client{
			"no Transport":                      {},
			"a Transport that reads HTTP_PROXY": {Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}},
		} {
			if _, err := callShow(t, newTestClient(t, "unix://"+sock, WithHTTPClient(hc), WithoutRetries()), "a", "m"); err != nil {
				t.Errorf("socket, %s: %v", name, err)
			}
		}
		return
	}
	proxy := newRecorder(t, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPlainHTTPNeverGoesThroughAProxy$", "-test.v")
	cmd.Env = append(os.Environ(), "FLYMACHINES_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, r := range proxy.requests() {
		t.Errorf("the proxy got %s %s with Authorization %q", r.Method, r.Path, r.Header.Get("Authorization"))
	}
	if !strings.Contains(string(out), "PASS") {
		t.Errorf("child output:\n%s", out)
	}
}

// TestRedirectToAnotherOriginCarriesNoBodyNorNonce: a 307 to another
// origin would re-send a create's body (its env may hold secrets) and a
// lease's nonce: the client does not follow it, and a redirect it does
// follow (a GET) carries neither the token nor the nonce.
func TestRedirectToAnotherOriginCarriesNoBodyNorNonce(t *testing.T) {
	t.Parallel()
	other := newRecorder(t, nil)
	otherHost := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	api := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherHost+r.URL.Path, http.StatusTemporaryRedirect)
	})
	c := newTestClient(t, api.URL, WithoutRetries())
	ctx := ctxTimeout(t, 10*time.Second)

	create := &models.CreateMachineRequest{
		Config: &models.FlyMachineConfig{Image: "nginx", Env: map[string]string{"DATABASE_URL": "postgres://secret"}}}
	if _, err := c.Machines.Create(ctx, "a", create); err == nil {
		t.Error("a create redirected to another origin succeeded")
	}
	nonce := "lease-nonce-0123456789"
	_ = c.Machines.Stop(ctx, "a", "m", nil, &machines.StopParams{LeaseNonce: nonce})
	_ = c.Machines.Restart(ctx, "a", "m", nil)
	if _, err := callShow(t, c, "a", "m"); err != nil {
		t.Errorf("a GET redirected to another origin: %v", err)
	}
	for _, r := range other.requests() {
		if len(r.Body) > 0 || r.Header.Get(headerLeaseNonce) != "" || r.Header.Get("Authorization") != "" {
			t.Errorf("%s %s reached another origin with body %q, nonce %q, Authorization %q",
				r.Method, r.Path, r.Body, r.Header.Get(headerLeaseNonce), r.Header.Get("Authorization"))
		}
	}
	if len(other.requests()) == 0 {
		t.Error("not even the GET was followed")
	}
}
