package pool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/inmem"
)

// K processes that start together with Min > 0 all sweep at once (a first
// claim sweeps at once): each fills the pool up to Min from the same
// empty list. Creates up to Min follow the rule creates up to Max do (one
// at a time per process, each on a list asked for after the previous one
// ended), so the pool overshoots Max by at most K-1.
func TestSweepsAtOnceOvershootMaxByAtMostKMinusOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		// Creates take a while: every process lists before any create lands.
		env.emu.InjectFault("Machines_create", flytest.Fault{Latency: 100 * time.Millisecond})
		const k = 3
		cfg := testConfig(4)
		cfg.Min = 4
		var wg sync.WaitGroup
		errs := make([]error, k)
		for i := range k {
			p := newPool(t, env.client(t), cfg)
			wg.Go(func() { errs[i] = p.Sweep(context.Background()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n < cfg.Min || n > cfg.Max+k-1 {
			t.Errorf("%d machines after %d processes swept at once: want Min %d, Max %d overshot by at most %d", n, k, cfg.Min, cfg.Max, k-1)
		}
	})
}

// One process never overshoots Max: a sweep that starts from a list taken
// before this Pool's own create ended (a claim's list, shared for half a
// second) does not create again to reach Min.
func TestSweepAfterAGrowDoesNotPassMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(1)
		cfg.Min = 1
		cfg.SweepEvery = time.Hour
		p := newPool(t, env.c, cfg)
		ctx := context.Background()
		if err := p.Sweep(ctx); err != nil { // a spare, then gone
			t.Fatal(err)
		}
		spare := members(t, env.c, "workers")[0]
		if err := env.c.Machines.Delete(ctx, testApp, spare.ID, &machines.DeleteParams{Force: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(cfg.SweepEvery - 200*time.Millisecond)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = p.Run(ctx, jobNamed(0)) }) // lists, creates
		time.Sleep(300 * time.Millisecond)
		wg.Go(func() { _, errs[1] = p.Run(ctx, jobNamed(1)) }) // sweeps from that list
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); len(ms) != 1 {
			t.Errorf("%d machines with Max 1 and one process", len(ms))
		}
		checkRuns(t, env.emu.Runs(testApp), 2)
	})
}

// network is a client transport an attacker controls: from a request
// trip accepts on, for cutFor, every request fails at once (cut) or hangs
// until its caller gives up (hang), as a network that drops or swallows
// packets does. A request that trips it is not sent.
type network struct {
	next   http.RoundTripper
	trip   func(*http.Request) bool
	cutFor time.Duration
	hang   bool

	mu      sync.Mutex
	tripped bool
	until   time.Time
}

func (n *network) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	if !n.tripped && n.trip != nil && n.trip(r) {
		n.tripped, n.until = true, time.Now().Add(n.cutFor)
	}
	down := time.Now().Before(n.until)
	n.mu.Unlock()
	if !down {
		return n.next.RoundTrip(r)
	}
	if n.hang {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return nil, errCut
}

// netClient is a client of env (retries off) through n.
func (e *memEnv) netClient(t *testing.T, n *network) *flymachines.Client {
	t.Helper()
	n.next = inmem.Transport(e.emu)
	c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
		flymachines.WithHTTPClient(&http.Client{Transport: n}), flymachines.WithoutRateLimits(),
		flymachines.WithRetryPolicy(flymachines.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var updatePath = regexp.MustCompile(`^/v1/apps/[^/]+/machines/[^/]+$`)

// isUpdate matches a Machines_update request.
func isUpdate(r *http.Request) bool {
	return r.Method == http.MethodPost && updatePath.MatchString(r.URL.Path)
}

// A network that swallows requests (they hang until the client's own
// timeout, 30 s) must not keep a claim alive past its lease: the claim ends
// by the time the API may have let its lease lapse, when someone else can
// take the Machine, not when the hung refresh gives up.
func TestClaimWhoseRefreshesHangEndsWhenItsLeaseMayLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		n := &network{hang: true, cutFor: time.Hour}
		cfg := testConfig(1)
		cfg.LeaseTTL = 5 * time.Second
		p := newPool(t, env.netClient(t, n), cfg)
		cl, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n.mu.Lock()
		n.until = time.Now().Add(n.cutFor) // from now on, nothing gets through
		n.mu.Unlock()
		begin := time.Now()
		<-cl.Done()
		if held := time.Since(begin); held > cfg.LeaseTTL {
			t.Errorf("the claim held %s after the network went silent: its lease (ttl %s) may have been someone else's for %s",
				held, cfg.LeaseTTL, held-cfg.LeaseTTL)
		}
		if !errors.Is(cl.Err(), flymachines.ErrLeaseLost) {
			t.Errorf("Err = %v, want ErrLeaseLost", cl.Err())
		}
	})
}

// An update whose fate is unknown, then a network down for longer than the
// lease: meanwhile another process claimed the Machine and ran its own job
// there. What a lookup then shows is not this claim's doing. Run must not
// take the other job's run for its own (its job would have run zero
// times, reported a success); it says it cannot tell.
func TestBootDoesNotTakeAnotherClaimsRunForItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(1)
		cfg.LeaseTTL = 5 * time.Second
		n := &network{trip: isUpdate, cutFor: 10 * time.Second}
		a := newPool(t, env.netClient(t, n), cfg)
		b := newPool(t, env.c, cfg)
		ctx := context.Background()
		var wg sync.WaitGroup
		var errA error
		wg.Go(func() { _, errA = a.Run(ctx, jobNamed(0)) })
		time.Sleep(cfg.LeaseTTL + time.Second) // a's lease has lapsed
		if _, err := b.Run(ctx, jobNamed(1)); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		runs := env.emu.Runs(testApp)
		if n := len(runsOf(runs, "1")); n != 1 {
			t.Errorf("job 1 ran %d times", n)
		}
		switch ran := len(runsOf(runs, "0")); {
		case errA == nil && ran != 1:
			t.Errorf("Run of job 0 succeeded, but the job ran %d times", ran)
		case errors.Is(errA, ErrNotStarted) && ran != 0:
			t.Errorf("Run of job 0 says nothing started, but the job ran %d times", ran)
		}
	})
}

// gateway answers the first request trip accepts with 504 at once, and
// hands it to the API only later, as a gateway that gives up on a slow
// backend does: the request takes effect after its caller heard it failed
// and looked.
type gateway struct {
	next  http.RoundTripper
	trip  func(*http.Request) bool
	delay time.Duration

	mu      sync.Mutex
	tripped bool
	wg      sync.WaitGroup
}

func (g *gateway) RoundTrip(r *http.Request) (*http.Response, error) {
	g.mu.Lock()
	late := !g.tripped && g.trip(r)
	g.tripped = g.tripped || late
	g.mu.Unlock()
	if !late {
		return g.next.RoundTrip(r)
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
	}
	slow := r.Clone(context.WithoutCancel(r.Context()))
	g.wg.Go(func() {
		time.Sleep(g.delay)
		slow.Body = io.NopCloser(bytes.NewReader(body))
		if resp, err := g.next.RoundTrip(slow); err == nil {
			resp.Body.Close()
		}
	})
	return &http.Response{StatusCode: http.StatusGatewayTimeout, Status: "504 Gateway Timeout", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("upstream timed out")), Request: r}, nil
}

var startPath = regexp.MustCompile(`^/v1/apps/[^/]+/machines/[^/]+/start$`)

// A boot answered 504 whose lookup shows nothing yet, and which takes
// effect just after: the boot sent again is refused (the version moved on;
// the Machine is no longer stopped), and that refusal is this claim's own
// boot showing, not someone else's claim. The job runs once, on this
// Machine, and Run waits for it.
func TestBootThatTakesEffectAfterItsLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		trip func(*http.Request) bool
		warm int // the job the Machine ran last: 0 boots job 0 with a start
	}{
		{"update", isUpdate, 9},
		{"start", func(r *http.Request) bool { return startPath.MatchString(r.URL.Path) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newMemEnv(t)
				g := &gateway{next: inmem.Transport(env.emu), trip: func(*http.Request) bool { return false }, delay: 100 * time.Millisecond}
				c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
					flymachines.WithHTTPClient(&http.Client{Transport: g}), flymachines.WithoutRateLimits())
				if err != nil {
					t.Fatal(err)
				}
				p := newPool(t, c, testConfig(2))
				ctx := context.Background()
				if _, err := p.Run(ctx, jobNamed(tc.warm)); err != nil {
					t.Fatal(err)
				}
				g.mu.Lock()
				g.trip = tc.trip
				g.mu.Unlock()
				st, err := p.Run(ctx, jobNamed(0))
				g.wg.Wait()
				synctest.Wait()
				want := 1 // this Run's, and the warm one's if it was job 0
				if tc.warm == 0 {
					want = 2
				}
				if runs := runsOf(env.emu.Runs(testApp), "0"); len(runs) != want {
					t.Errorf("job 0 ran %d times, want %d: %+v", len(runs), want, runs)
				}
				if err != nil || !st.Success() {
					t.Errorf("Run: %+v, %v", st, err)
				}
				if !g.tripped {
					t.Error("the gateway never timed out")
				}
			})
		})
	}
}

// Drain returns once none of the pool's Machines is left, so a process
// may exit then: a Machine this process was creating when Drain began
// (a claim already past its last look at the drain) is waited for too,
// destroyed once its claim ends, not left behind by the process exiting.
func TestDrainWaitsForACreateUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		env.emu.InjectFault("Machines_create", flytest.Fault{Latency: 2 * time.Second})
		c, tr := env.cutClient(t)
		p := newPool(t, c, testConfig(2))
		ctx := context.Background()
		ran := make(chan error, 1)
		go func() { _, err := p.Run(ctx, jobNamed(0)); ran <- err }()
		time.Sleep(100 * time.Millisecond) // creating
		if err := p.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		tr.cut.Store(true) // and the process exits
		time.Sleep(time.Minute)
		if ms := members(t, env.c, "workers"); len(ms) != 0 {
			t.Errorf("left after Drain returned and the process exited: %+v", ms)
		}
		<-ran
	})
}

// hostile rewrites the answers of the API: whatever edit returns for a
// request replaces its answer's body.
type hostile struct {
	next http.RoundTripper
	edit func(r *http.Request, body []byte) []byte
}

func (h *hostile) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = h.edit(r, body)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

var (
	listPath  = regexp.MustCompile(`^/v1/apps/[^/]+/machines$`)
	leasePath = regexp.MustCompile(`^/v1/apps/[^/]+/machines/[^/]+/lease$`)
)

// Answers no API should give do not panic the pool, and nothing runs on
// them: a list with nulls, Machines with no config, or only an incomplete
// one, or no state; leases and creates whose answers carry no nonce.
func TestHostileAnswers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		nonce := regexp.MustCompile(`"nonce":"[^"]*",?`)
		h := &hostile{next: inmem.Transport(env.emu), edit: func(r *http.Request, body []byte) []byte {
			switch {
			case r.Method == http.MethodGet && listPath.MatchString(r.URL.Path):
				var ms []json.RawMessage
				if err := json.Unmarshal(body, &ms); err != nil {
					t.Error(err)
				}
				junk := `[null,{},{"id":"m1"},{"id":"m2","config":null,"state":"stopped"},` +
					`{"id":"m3","incomplete_config":{"metadata":{"flymachines_pool":"workers"}},"state":"stopped","lease":{}},` +
					`{"id":"m4","config":{"metadata":{"flymachines_pool":"workers","flymachines_pool_generation":"x"}},"state":"started","events":[null]}]`
				var all []json.RawMessage
				if err := json.Unmarshal([]byte(junk), &all); err != nil {
					t.Fatal(err)
				}
				out, _ := json.Marshal(append(all, ms...))
				return out
			case r.Method == http.MethodPost && (leasePath.MatchString(r.URL.Path) || listPath.MatchString(r.URL.Path)):
				return nonce.ReplaceAll(body, nil)
			}
			return body
		}}
		c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
			flymachines.WithHTTPClient(&http.Client{Transport: h}), flymachines.WithoutRateLimits())
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(3)
		cfg.LeaseTTL = 2 * time.Second // the created Machine's lease lapses: then claims try it
		p := newPool(t, c, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p.Run(ctx, jobNamed(0)); !errors.Is(err, ErrNotStarted) {
			t.Errorf("Run: %v, want ErrNotStarted", err)
		}
		if _, err := p.Acquire(ctx); !errors.Is(err, ErrNotStarted) {
			t.Errorf("Acquire: %v, want ErrNotStarted", err)
		}
		if _, err := p.Status(context.Background()); err != nil {
			t.Errorf("Status: %v", err)
		}
		_ = p.Sweep(context.Background())
		if runs := env.emu.Runs(testApp); len(runs) != 0 {
			t.Errorf("runs %+v", runs)
		}
	})
}

// Claims waiting at Max share their lists (the README's promise; Fly limits
// lists per app): 20 claims waiting a minute ask for about one list a
// second between them, not one each every second or two.
func TestClaimsWaitingAtMaxShareTheirLists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		var lists atomic.Int64
		count := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && listPath.MatchString(r.URL.Path) {
				lists.Add(1)
			}
			return inmem.Transport(env.emu).RoundTrip(r)
		})
		c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
			flymachines.WithHTTPClient(&http.Client{Transport: count}), flymachines.WithoutRateLimits())
		if err != nil {
			t.Fatal(err)
		}
		p := newPool(t, c, testConfig(1))
		ctx := context.Background()
		busy, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const waiting, waited = 20, time.Minute
		wctx, cancel := context.WithTimeout(ctx, waited)
		defer cancel()
		before := lists.Load()
		var wg sync.WaitGroup
		for range waiting {
			wg.Go(func() {
				if _, err := p.Run(wctx, jobNamed(1)); !errors.Is(err, ErrNotStarted) {
					t.Errorf("Run at Max: %v", err)
				}
			})
		}
		wg.Wait()
		if n := lists.Load() - before; n > int64(waited/time.Second)*3/2 {
			t.Errorf("%d claims waiting %s asked for %d lists", waiting, waited, n)
		}
		if err := busy.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// skewed is the emulator's clock set apart from the client's.
type skewed time.Duration

func (s skewed) Now() time.Time { return time.Now().Add(time.Duration(s)) }

// The API's clock is ahead of this host's: its expires_at, read on this
// clock, says a lease runs longer than it does. A claim whose refreshes
// fail ends by the time the API lets the lease lapse all the same.
func TestClaimUnderClockSkewEndsWhenItsLeaseMayLapse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t, flytest.WithClock(skewed(20*time.Second)))
		c, tr := env.cutClient(t)
		cfg := testConfig(1)
		cfg.LeaseTTL = 5 * time.Second
		p := newPool(t, c, cfg)
		cl, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(cfg.LeaseTTL / 2) // refreshed once: the API's expires_at read
		tr.cut.Store(true)
		begin := time.Now()
		<-cl.Done()
		if held := time.Since(begin); held > cfg.LeaseTTL {
			t.Errorf("the claim held %s after its refreshes stopped getting through: its lease (ttl %s) may have been someone else's for %s",
				held, cfg.LeaseTTL, held-cfg.LeaseTTL)
		}
	})
}
