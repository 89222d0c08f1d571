package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestGuide(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-app", "guide-test", "-region", "cdg"}, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	// Each step of the guide, in order.
	steps := []string{
		`app guide-test created: organization personal`,
		`machine (\w+) created in cdg: state \w+, instance (\w+)`,
		`machine \w+ started \(waited on instance \w+\)`,
		`got machine \w+: started, 1 shared CPU, 256 MB`,
		`machine \w+ updated to 512 MB and started again on instance \w+`,
		`machine \w+ stopped`,
		`machine \w+ started \(previous state stopped\)`,
		`listed machine \w+ \(guide-machine\) in cdg: started`,
		`lease taken: owner \S+, nonce \w{4}\.\.\.`,
		`update without the nonce refused: lease held by \S+`,
		`update with the nonce accepted: instance \w+`,
		`lease released`,
		`machine \w+ deleted \(force\)`,
		`app guide-test deleted`,
	}
	rest := text
	for _, s := range steps {
		loc := regexp.MustCompile(s).FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("no step %q after the previous one in:\n%s", s, text)
		}
		rest = rest[loc[1]:]
	}
	// Every wait named a version, and each update made a new one.
	instances := regexp.MustCompile(`instance (\w+)`).FindAllStringSubmatch(text, -1)
	seen := map[string]bool{}
	for _, m := range instances {
		seen[m[1]] = true
	}
	if len(seen) != 3 {
		t.Errorf("want 3 versions (create, update, leased update), got %v", seen)
	}
}

func TestGuideCleansUpOnTheAPI(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	// Watch what the example sends, down to the headers.
	rec := &recorder{next: http.DefaultTransport}
	cfg := sandboxtest.Fast()
	cfg.ClientOptions = append(cfg.ClientOptions, flymachines.WithHTTPClient(&http.Client{Transport: rec}))
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, &out, []string{"-app", "guide-on-api"}, cfg); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Fly Machines API") {
		t.Errorf("not on the API:\n%s", out.String())
	}
	_, err := c.Apps.Show(ctx, "guide-on-api")
	if !errors.Is(err, flymachines.ErrNotFound) {
		t.Errorf("the app is left: %v", err)
	}

	// The lease's nonce went with one update, and only there; the update
	// without it was refused; the release carried it too.
	var withNonce, refused, releases int
	for _, r := range rec.seen() {
		switch {
		case r.method == http.MethodPost && r.nonce != "" && !strings.HasSuffix(r.path, "/lease"):
			withNonce++
			if r.status != http.StatusOK {
				t.Errorf("the update with the nonce got %d", r.status)
			}
		case r.status == http.StatusConflict:
			refused++
		case r.method == http.MethodDelete && strings.HasSuffix(r.path, "/lease") && r.nonce != "":
			releases++
		}
	}
	if withNonce != 1 || refused != 1 || releases != 1 {
		t.Errorf("updates with the nonce %d, refused %d, releases %d; want 1 each", withNonce, refused, releases)
	}
}

// recorder notes each request's method, path, lease nonce and answer.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path, nonce string
	status              int
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	rec := recorded{method: req.Method, path: req.URL.Path, nonce: req.Header.Get("fly-machine-lease-nonce")}
	if err == nil {
		rec.status = res.StatusCode
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return res, err
}

func (r *recorder) seen() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}
