package flymachines_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// Tokens of two different callers; the emulator makes them different lease
// owners.
const (
	aliceToken = "fo1_aliceAccessTokenForResilience01"
	bobToken   = "fo1_bobAccessTokenForResilience0002"
)

// fastRetries keeps fault tests quick without changing what is retried.
var fastRetries = flymachines.RetryPolicy{MaxAttempts: 4, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}

// resilient is one emulator, served in memory, and a client of it, with an
// app. Build it inside a synctest bubble when the test depends on time.
type resilient struct {
	t   *testing.T
	srv *memEmu
	c   *flymachines.Client
	app string
}

func newResilient(t *testing.T, emuOpts []flytest.Option, opts ...flymachines.Option) *resilient {
	t.Helper()
	srv := newMemEmu(t, append([]flytest.Option{flytest.WithTransitionDelay(5 * time.Millisecond)}, emuOpts...)...)
	r := &resilient{t: t, srv: srv, app: "resilient-app"}
	r.c = r.client(aliceToken, opts...)
	if _, err := r.c.Apps.Create(context.Background(), &models.CreateAppRequest{Name: r.app, OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *resilient) client(token string, opts ...flymachines.Option) *flymachines.Client {
	r.t.Helper()
	base := append([]flymachines.Option{flymachines.WithToken(token)}, r.srv.options()...)
	base = append(base, flymachines.WithoutRateLimits(), flymachines.WithRetryPolicy(fastRetries))
	c, err := flymachines.New(append(base, opts...)...)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func (r *resilient) machine(image string) *models.Machine {
	r.t.Helper()
	m, err := r.c.CreateMachine(context.Background(), r.app, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: image}})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.c.WaitStarted(context.Background(), r.app, m.ID); err != nil {
		r.t.Fatal(err)
	}
	return m
}

// allMachines lists every Machine of the app, destroyed ones included.
func (r *resilient) allMachines() []*models.Machine {
	r.t.Helper()
	all, err := r.c.Machines.List(context.Background(), r.app, &machines.ListParams{IncludeDeleted: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return all
}

func (r *resilient) show(id string) (*models.Machine, error) {
	return r.c.Machines.Show(context.Background(), r.app, id, nil)
}

// TestRetryFaultMatrix: for each fault on each kind of operation, the
// caller sees the right outcome and the server saw the right number of
// attempts: refused-before-effect faults are retried for everything,
// ambiguous ones only for operations that are safe to repeat.
func TestRetryFaultMatrix(t *testing.T) {
	t.Parallel()
	type call func(r *resilient, id string) error
	show := func(r *resilient, id string) error { _, err := r.show(id); return err }
	stop := func(r *resilient, id string) error {
		return r.c.Machines.Stop(context.Background(), r.app, id, nil, nil)
	}
	restart := func(r *resilient, id string) error {
		return r.c.Machines.Restart(context.Background(), r.app, id, nil)
	}
	for _, tc := range []struct {
		name     string
		op       string
		fault    flytest.Fault
		call     call
		wantErr  error // nil: the call succeeds
		wantHits int   // attempts the fault answered
	}{
		{"429 with a Retry-After longer than MaxDelay", "Machines_show", flytest.Fault{Status: 429, RetryAfter: time.Second, Times: 1}, show, flymachines.ErrRateLimited, 1},
		{"429 without Retry-After on a read", "Machines_show", flytest.Fault{Status: 429, Times: 2}, show, nil, 2},
		{"503 burst on a read", "Machines_show", flytest.Fault{Status: 503, Times: 3}, show, nil, 3},
		{"dropped connection on a read", "Machines_show", flytest.Fault{Drop: true, Times: 1}, show, nil, 1},
		{"502 on a repeatable mutation", "Machines_stop", flytest.Fault{Status: 502, Times: 2}, stop, nil, 2},
		{"408 after stop applied", "Machines_stop", flytest.Fault{Status: 408, AfterApply: true, Times: 1}, stop, nil, 1},
		{"429 on a non-repeatable mutation", "Machines_restart", flytest.Fault{Status: 429, Times: 1}, restart, nil, 1},
		{"503 on a non-repeatable mutation", "Machines_restart", flytest.Fault{Status: 503, Times: 1}, restart, flymachines.ErrTimeout, 1},
		{"408 after restart applied", "Machines_restart", flytest.Fault{Status: 408, AfterApply: true, Times: 1}, restart, flymachines.ErrTimeout, 1},
		{"5xx past the attempts", "Machines_show", flytest.Fault{Status: 503}, show, nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, nil)
				m := r.machine("nginx")
				id := r.srv.InjectFault(tc.op, tc.fault)
				err := tc.call(r, m.ID)
				hits := r.srv.FaultHits(id)
				switch {
				case tc.name == "5xx past the attempts":
					var apiErr *flymachines.APIError
					if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
						t.Errorf("err = %v, want the last 503", err)
					}
				case tc.wantErr == nil && err != nil:
					t.Errorf("err = %v, want success after retrying", err)
				case tc.wantErr != nil && err == nil:
					t.Error("an ambiguous failure of a non-repeatable call was retried into a success")
				}
				if hits != tc.wantHits {
					t.Errorf("the fault answered %d attempts, want %d", hits, tc.wantHits)
				}
			})
		})
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		c := r.client(bobToken, flymachines.WithRetryPolicy(flymachines.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}))
		id := r.srv.InjectFault("Machines_show", flytest.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
		start := time.Now()
		if _, err := c.Machines.Show(context.Background(), r.app, m.ID, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 950*time.Millisecond {
			t.Errorf("retried after %s, before the server's Retry-After of 1s", took)
		}
		if r.srv.FaultHits(id) != 1 {
			t.Error("the 429 was never answered")
		}

		// A deadline shorter than the Retry-After ends the call at once.
		r.srv.InjectFault("Machines_show", flytest.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		_, err := c.Machines.Show(ctx, r.app, m.ID, nil)
		if !errors.Is(err, flymachines.ErrRateLimited) || time.Since(start) > 200*time.Millisecond {
			t.Errorf("err = %v after %s, want ErrRateLimited at once", err, time.Since(start))
		}
	})
}

// TestNonRepeatableMutationIsNotResent: a restart that failed ambiguously
// is sent once: the Machine restarted at most once.
func TestNonRepeatableMutationIsNotResent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		r.srv.InjectFault("Machines_restart", flytest.Fault{Status: 502, AfterApply: true})
		err := r.c.Machines.Restart(context.Background(), r.app, m.ID, nil)
		if err == nil {
			t.Fatal("restart succeeded through a permanent 502")
		}
		ev, err := r.c.Machines.ListEvents(context.Background(), r.app, m.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		restarts := 0
		for _, e := range ev {
			if e.Type == "restart" {
				restarts++
			}
		}
		if restarts != 1 {
			t.Errorf("%d restart events, want exactly 1", restarts)
		}
	})
}

// TestCreateMachineNeverDuplicates: whatever ambiguous failure hits a
// create, CreateMachine returns the one Machine that exists.
func TestCreateMachineNeverDuplicates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault flytest.Fault
	}{
		{"408 after the create applied", flytest.Fault{Status: 408, AfterApply: true, Times: 1}},
		{"connection lost after the create applied", flytest.Fault{Drop: true, AfterApply: true, Times: 1}},
		{"503 after the create applied", flytest.Fault{Status: 503, AfterApply: true, Times: 2}},
		{"503 before the create applied", flytest.Fault{Status: 503, Times: 1}},
		{"connection lost before the create applied", flytest.Fault{Drop: true, Times: 1}},
		{"429 before the create applied", flytest.Fault{Status: 429, Times: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, nil)
				r.srv.InjectFault("Machines_create", tc.fault)
				m, err := r.c.CreateMachine(context.Background(), r.app,
					&models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}})
				if err != nil {
					t.Fatal(err)
				}
				all := r.allMachines()
				if len(all) != 1 {
					t.Fatalf("%d machines exist, want exactly 1", len(all))
				}
				if all[0].ID != m.ID {
					t.Errorf("returned %s, but %s is the one that exists", m.ID, all[0].ID)
				}
			})
		})
	}
}

func TestCreateMachineFallsBackOnCapacity(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithCapacityError("ord")})
		req := &models.CreateMachineRequest{Region: "ord", Config: &models.FlyMachineConfig{Image: "nginx"}}
		if _, err := r.c.CreateMachine(context.Background(), r.app, req); !errors.Is(err, flymachines.ErrCapacity) {
			t.Fatalf("without fallback: err = %v, want ErrCapacity", err)
		}
		m, err := r.c.CreateMachine(context.Background(), r.app, req, flymachines.WithRegionFallback("iad", "ams"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Region != "iad" {
			t.Errorf("placed in %s, want the first fallback iad", m.Region)
		}
		if req.Region != "ord" || req.Config.Metadata != nil {
			t.Error("CreateMachine changed the caller's request")
		}
		if n := len(r.allMachines()); n != 1 {
			t.Errorf("%d machines exist, want 1", n)
		}
	})
}

func TestCreateAppIsSafeToRetry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		r.srv.InjectFault("Apps_create", flytest.Fault{Status: 408, AfterApply: true, Times: 1})
		created, err := r.c.CreateApp(context.Background(), &models.CreateAppRequest{Name: "second-app", OrgSlug: "personal"})
		if err != nil {
			t.Fatal(err)
		}
		shown, err := r.c.Apps.Show(context.Background(), "second-app")
		if err != nil {
			t.Fatal(err)
		}
		if shown.ID != created.ID {
			t.Errorf("CreateApp returned %s, the app is %s", created.ID, shown.ID)
		}
	})
}

// TestThousandCreatesUnderFaults: 1,000 creates from 8 goroutines, with
// faults of every kind injected on a share of creates and of the lookups,
// leave exactly 1,000 Machines, each created once and each returned to
// its caller.
func TestThousandCreatesUnderFaults(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		if testing.Short() {
			t.Skip("1,000 creates; skipped with -short")
		}
		r := newResilient(t, []flytest.Option{flytest.WithSeed(7), flytest.WithTransitionDelay(time.Millisecond)})
		var faults []flytest.FaultID
		for _, f := range []flytest.Fault{
			{Status: 408, AfterApply: true, Rate: 0.10},
			{Drop: true, AfterApply: true, Rate: 0.05},
			{Status: 502, AfterApply: true, Rate: 0.05},
			{Status: 503, Rate: 0.05},
			{Drop: true, Rate: 0.03},
			{Status: 429, Rate: 0.05},
		} {
			faults = append(faults, r.srv.InjectFault("Machines_create", f))
		}
		lookupFault := r.srv.InjectFault("Machines_list", flytest.Fault{Status: 503, Rate: 0.10})

		const total, workers = 1000, 8
		var next atomic.Int64
		returned := make([]string, total)
		var wg sync.WaitGroup
		errs := make(chan error, total)
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= total {
						return
					}
					m, err := r.c.CreateMachine(context.Background(), r.app,
						&models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "worker",
							Metadata: map[string]string{"n": fmt.Sprint(i)}}, SkipLaunch: true},
						flymachines.WithCreateAttempts(5))
					if err != nil {
						errs <- fmt.Errorf("create %d: %w", i, err)
						continue
					}
					returned[i] = m.ID
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		hits := 0
		for _, id := range faults {
			hits += r.srv.FaultHits(id)
		}
		t.Logf("%d creates hit a fault, %d lookups did", hits, r.srv.FaultHits(lookupFault))
		if hits < total/5 {
			t.Errorf("only %d creates hit a fault: the test exercises too little", hits)
		}
		all := r.allMachines()
		if len(all) != total {
			t.Errorf("%d machines exist, want exactly %d", len(all), total)
		}
		byN := map[string]int{}
		ids := map[string]bool{}
		for _, m := range all {
			byN[m.Config.Metadata["n"]]++
			ids[m.ID] = true
		}
		for i, id := range returned {
			if c := byN[fmt.Sprint(i)]; c != 1 {
				t.Errorf("create %d made %d machines", i, c)
			}
			if id != "" && !ids[id] {
				t.Errorf("create %d returned %s, which does not exist", i, id)
			}
		}
	})
}

// TestConcurrentCallersStayUnderTheRateLimits: 100 goroutines at one
// Machine never get a 429 from an API enforcing Fly's limits: the client's
// buckets pace them. The limits are scaled up tenfold on both sides to keep
// the test short; TestRateLimitsAtFlysRates runs them unscaled.
func TestConcurrentCallersStayUnderTheRateLimits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const scale = 10
		r := newResilient(t, []flytest.Option{flytest.WithRateLimits(), flytest.WithRateScale(scale)})
		m := r.machine("nginx")
		c := r.client(bobToken, flymachines.WithoutRetries(), flymachines.WithRateLimits(flymachines.RateLimits{
			Default:    flymachines.RateLimit{Rate: 1 * scale, Burst: 2},
			GetMachine: flymachines.RateLimit{Rate: 5 * scale, Burst: 9},
		}))
		calls := []func(ctx context.Context) error{
			func(ctx context.Context) error {
				_, err := c.Machines.Show(ctx, r.app, m.ID, nil)
				return err
			},
			func(ctx context.Context) error {
				_, err := c.Machines.ListEvents(ctx, r.app, m.ID, nil)
				return err
			},
			func(ctx context.Context) error {
				_, err := c.Metadata.List(ctx, r.app, m.ID)
				return err
			},
			func(ctx context.Context) error {
				return c.Machines.Cordon(ctx, r.app, m.ID, nil)
			},
		}
		var rateLimited, failed atomic.Int64
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				// Most callers read the Machine; the rest spread over actions.
				call := calls[0]
				if i%4 == 0 {
					call = calls[1+i%3]
				}
				err := call(context.Background())
				switch {
				case errors.Is(err, flymachines.ErrRateLimited):
					rateLimited.Add(1)
				case err != nil:
					failed.Add(1)
					t.Log(err)
				}
			})
		}
		wg.Wait()
		if n := rateLimited.Load(); n != 0 {
			t.Errorf("the API answered 429 to %d calls", n)
		}
		if n := failed.Load(); n != 0 {
			t.Errorf("%d calls failed", n)
		}
	})
}

func TestRateLimitsAtFlysRates(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithRateLimits()})
		m := r.machine("nginx")
		c := r.client(bobToken, flymachines.WithoutRetries(), flymachines.WithRateLimits(flymachines.DefaultRateLimits()))
		var limited atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				_, err := c.Machines.Show(context.Background(), r.app, m.ID, nil)
				if errors.Is(err, flymachines.ErrRateLimited) {
					limited.Add(1)
				} else if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := limited.Load(); n != 0 {
			t.Errorf("%d of 20 concurrent gets were answered 429", n)
		}

		// Without client-side limits the same burst does get 429s: the test
		// above proves the pacing, not a lenient server.
		raw := r.client(bobToken, flymachines.WithoutRetries(), flymachines.WithoutRateLimits())
		got429 := false
		for range 15 {
			_, err := raw.Machines.Show(context.Background(), r.app, m.ID, nil)
			got429 = got429 || errors.Is(err, flymachines.ErrRateLimited)
		}
		if !got429 {
			t.Error("an unpaced burst of 15 gets saw no 429: the emulator's limits are off")
		}
	})
}

// TestRateLimitedAnswerSlowsTheBucket: a 429 that arrives anyway closes
// that bucket for its Retry-After, so the retry waits for it.
func TestRateLimitedAnswerSlowsTheBucket(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		m := r.machine("nginx")
		c := r.client(bobToken, flymachines.WithRateLimits(flymachines.DefaultRateLimits()),
			flymachines.WithRetryPolicy(flymachines.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}))
		r.srv.InjectFault("Machines_show", flytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second, Times: 1})
		start := time.Now()
		if _, err := c.Machines.Show(context.Background(), r.app, m.ID, nil); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < 900*time.Millisecond {
			t.Errorf("retried after %s, before the 1s Retry-After", took)
		}
	})
}

// TestRetryAfterClosesABucketForAtMostMaxDelay: a server asking for a
// pause of 31 years (or until a far date) closes that bucket for the retry
// policy's MaxDelay, not longer; a call the closed bucket refuses matches
// ErrRateLimited, and tells when the next slot opens.
func TestRetryAfterClosesABucketForAtMostMaxDelay(t *testing.T) {
	t.Parallel()
	for _, retryAfter := range []string{"1000000000", "Fri, 31 Dec 2100 23:59:59 GMT"} {
		t.Run(retryAfter, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				const maxDelay = 2 * time.Second
				r := newResilient(t, nil)
				m := r.machine("nginx")
				c := r.client(bobToken, flymachines.WithRateLimits(flymachines.DefaultRateLimits()),
					flymachines.WithRetryPolicy(flymachines.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: maxDelay}),
					flymachines.WithHTTPClient(&http.Client{Transport: retryAfterOnce(r.srv.transport, retryAfter)}))
				show := func(ctx context.Context) error {
					_, err := c.Machines.Show(ctx, r.app, m.ID, nil)
					return err
				}
				if err := show(context.Background()); !errors.Is(err, flymachines.ErrRateLimited) {
					t.Fatalf("the 429 itself: err = %v, want ErrRateLimited", err)
				}

				// A call with less time than the pause is refused at once.
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				start := time.Now()
				err := show(ctx)
				var rl *flymachines.RateLimitError
				if !errors.Is(err, flymachines.ErrRateLimited) || !errors.As(err, &rl) || time.Since(start) != 0 {
					t.Errorf("inside the pause: err = %v after %s, want ErrRateLimited at once", err, time.Since(start))
				} else if rl.RetryAfter <= time.Second || rl.RetryAfter > maxDelay {
					t.Errorf("next slot in %s, want within MaxDelay %s", rl.RetryAfter, maxDelay)
				}
				if errors.Is(err, flymachines.ErrTimeout) {
					t.Errorf("a refused call reads as a timeout: %v", err)
				}

				// A call without a deadline waits out MaxDelay, no more.
				start = time.Now()
				if err := show(context.Background()); err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took > maxDelay {
					t.Errorf("the bucket stayed closed %s, longer than MaxDelay %s", took, maxDelay)
				}
			})
		})
	}
}

// retryAfterOnce answers the first request with a 429 and the given
// Retry-After; the rest go to next.
func retryAfterOnce(next http.RoundTripper, retryAfter string) http.RoundTripper {
	var once sync.Once
	return roundTrip(func(r *http.Request) (*http.Response, error) {
		answered := false
		once.Do(func() { answered = true })
		if !answered {
			return next.RoundTrip(r)
		}
		rec := httptest.NewRecorder()
		rec.Header().Set("Retry-After", retryAfter)
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusTooManyRequests)
		_, _ = rec.WriteString(`{"error":"rate limit exceeded"}`)
		return rec.Result(), nil
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
