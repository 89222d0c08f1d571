package flymachines

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// socketServer answers on a Unix socket and records what it got.
type socketServer struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *socketServer) start(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Clone(context.Background()))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"m1","state":"started"}`))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

func (s *socketServer) last(t *testing.T) *http.Request {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		t.Fatal("nothing reached the socket")
	}
	return s.reqs[len(s.reqs)-1]
}

func noTokenEnv(t *testing.T) {
	t.Setenv(EnvAPIToken, "")
	t.Setenv(EnvAccessToken, "")
	t.Setenv(EnvAPIHostname, "")
}

// TestMachineSocketBaseURL: unix:///path sends every call over that socket
// as http://flaps/..., without a token when there is none and with it when
// given (the socket is on this host); a token is still required for every
// other base URL.
func TestMachineSocketBaseURL(t *testing.T) {
	noTokenEnv(t)
	path := filepath.Join(t.TempDir(), "api.sock")
	var srv socketServer
	srv.start(t, path)

	c, err := New(WithBaseURL("unix://" + path))
	if err != nil {
		t.Fatalf("New on a socket without a token: %v", err)
	}
	if got := c.BaseURL(); got != "unix://"+path {
		t.Errorf("BaseURL = %q", got)
	}
	if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err != nil {
		t.Fatal(err)
	}
	r := srv.last(t)
	if r.Host != socketHost || r.URL.Path != "/v1/apps/app/machines/m1" || r.Header.Get("Authorization") != "" {
		t.Errorf("request Host %q path %q Authorization %q", r.Host, r.URL.Path, r.Header.Get("Authorization"))
	}

	tok := "fo1_socketTokenForTheTest0123456789"
	c, err = New(WithBaseURL("unix://"+path), WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.last(t).Header.Get("Authorization"); got != "Bearer "+tok {
		t.Errorf("Authorization %q, want the given token", got)
	}

	if _, err := New(WithBaseURL("http://127.0.0.1:1")); !errors.Is(err, ErrNoToken) {
		t.Errorf("no token off the socket: %v, want ErrNoToken", err)
	}
	for _, bad := range []string{"unix://", "unix://host/x", "unix:relative", "unix:///x?q=1"} {
		if _, err := New(WithBaseURL(bad)); !errors.Is(err, ErrInvalidBaseURL) {
			t.Errorf("%q: %v, want ErrInvalidBaseURL", bad, err)
		}
	}
	if _, err := New(WithBaseURL("unix://"+path), WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)})); !errors.Is(err, ErrInvalidBaseURL) ||
		!strings.Contains(err.Error(), "*http.Transport") {
		t.Errorf("a socket with a RoundTripper that cannot dial it: %v", err)
	}
}

// TestPreferMachineSocket: on a Fly Machine (FLY_MACHINE_ID set, the socket
// there) the client talks to the socket; elsewhere, or when WithBaseURL
// says otherwise, it does not.
func TestPreferMachineSocket(t *testing.T) {
	noTokenEnv(t)
	path := filepath.Join(t.TempDir(), "api.sock")
	var srv socketServer
	srv.start(t, path)
	prefer := func(c *config) { c.socketPath = path } // PreferMachineSocket, with the socket here

	t.Setenv(EnvMachineID, "")
	if _, err := New(prefer); !errors.Is(err, ErrNoToken) {
		t.Errorf("off a Machine: %v, want the usual ErrNoToken", err)
	}
	t.Setenv(EnvMachineID, "148ed193b95089")
	c, err := New(prefer)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "unix://"+path {
		t.Errorf("on a Machine: BaseURL %q", c.BaseURL())
	}
	c, err = New(prefer, WithBaseURL(APIProxyBaseURL), WithToken("fo1_socketTokenForTheTest0123456789"))
	if err != nil || c.BaseURL() != APIProxyBaseURL {
		t.Errorf("WithBaseURL wins: %v %v", c, err)
	}
	if _, err := New(func(c *config) { c.socketPath = filepath.Join(t.TempDir(), "none") }); !errors.Is(err, ErrNoToken) {
		t.Errorf("no socket there: %v, want ErrNoToken", err)
	}
	if got := PreferMachineSocket(); got == nil {
		t.Fatal("nil option")
	} else {
		var cfg config
		got(&cfg)
		if cfg.socketPath != MachineSocketPath {
			t.Errorf("PreferMachineSocket looks at %q", cfg.socketPath)
		}
	}
}

// TestSocketTransportDialsOnlyTheSocket: over a Unix socket base URL every
// connection is to the socket, also for an https URL a redirect names, and
// also when the caller's *http.Transport brings dialers of its own: those
// would reach the network. Nothing is dialed but the socket.
func TestSocketTransportDialsOnlyTheSocket(t *testing.T) {
	noTokenEnv(t)
	path := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example"+r.URL.Path, http.StatusFound)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	var dialed atomic.Int32
	refuse := func(context.Context, string, string) (net.Conn, error) {
		dialed.Add(1)
		return nil, errors.New("the caller's dialer was used")
	}
	own := &http.Transport{DialTLSContext: refuse, DialContext: refuse,
		Dial: func(n, a string) (net.Conn, error) { return refuse(context.Background(), n, a) }}
	c, err := New(WithBaseURL("unix://"+path), WithToken("fo1_socketTokenForTheTest0123456789"),
		WithHTTPClient(&http.Client{Transport: own}), WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err == nil {
		t.Error("an https redirect off the socket was answered")
	}
	if n := dialed.Load(); n != 0 {
		t.Errorf("the caller's dialers were used %d times", n)
	}
}

// TestPreferMachineSocketNeedsASocket: PreferMachineSocket picks the path
// only when a socket is there (a symlink to one counts, as the dialer
// follows it); a regular file or a directory at the path is not the API.
func TestPreferMachineSocketNeedsASocket(t *testing.T) {
	noTokenEnv(t)
	t.Setenv(EnvMachineID, "148ed193b95089")
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	var srv socketServer
	srv.start(t, sock)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(sock, link); err != nil {
		t.Fatal(err)
	}
	prefer := func(path string) Option { return func(c *config) { c.socketPath = path } }
	for _, path := range []string{file, dir} {
		if _, err := New(prefer(path)); !errors.Is(err, ErrNoToken) {
			t.Errorf("%s is no socket: %v, want the usual ErrNoToken", path, err)
		}
	}
	c, err := New(prefer(link))
	if err != nil {
		t.Fatalf("a symlink to the socket: %v", err)
	}
	if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err != nil {
		t.Errorf("a call through the symlink: %v", err)
	}
}
