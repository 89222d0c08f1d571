package pool

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

// Acquire hands over a started Machine under a claim: changes made with
// the claim's context carry the nonce, anyone else's are refused. Release
// stops it and frees it for the next claim.
func TestAcquireAndRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(2))
		ctx := context.Background()
		cl, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := cl.Machine()
		if m.State != flymachines.StateStarted || m.ID != cl.ID() {
			t.Fatalf("acquired machine %s is %s", m.ID, m.State)
		}
		// Someone else (another token: another lease owner) cannot touch it.
		other := env.client(t, flymachines.WithToken("fo1_someone-else"))
		if err := other.Machines.Stop(ctx, testApp, cl.ID(), nil, nil); !errors.Is(err, flymachines.ErrLeaseHeld) {
			t.Errorf("stop by someone else: %v, want ErrLeaseHeld", err)
		}
		if err := env.c.Metadata.Set(cl.Context(ctx), testApp, cl.ID(), "tenant", &models.UpsertMetadataKeyRequest{Value: "acme"}, nil); err != nil {
			t.Errorf("a change under the claim: %v", err)
		}
		// Held past its ttl: the lease is refreshed.
		time.Sleep(3 * p.cfg.LeaseTTL)
		if cl.Err() != nil || !cl.Lease().ExpiresAt().After(time.Now()) {
			t.Fatalf("claim lost while held: %v", cl.Err())
		}
		claimCtx := cl.Context(ctx)
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if claimCtx.Err() == nil {
			t.Error("the claim's context outlived Release")
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 1 || ms[0].State != flymachines.StateStopped || ms[0].Lease != nil {
			t.Fatalf("after Release: %+v", ms[0])
		}
		if err := cl.Release(ctx); err != nil {
			t.Errorf("second Release: %v", err)
		}
		again, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Release(ctx)
		if again.ID() != cl.ID() {
			t.Errorf("second claim got %s, want the freed %s", again.ID(), cl.ID())
		}
	})
}

// A Machine that suspends itself while claimed (autostop) is given back
// suspended, and the next Acquire resumes it; a job boots a suspended one
// afresh, with an update.
func TestSuspendedMachines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(1))
		ctx := context.Background()
		cl, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.c.Machines.Suspend(cl.Context(ctx), testApp, cl.ID(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := env.c.WaitForState(ctx, testApp, cl.ID(), []string{flymachines.StateSuspended}); err != nil {
			t.Fatal(err)
		}
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); ms[0].State != flymachines.StateSuspended {
			t.Fatalf("given back %s, want suspended as it was", ms[0].State)
		}
		cl, err = p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		runs := env.emu.Runs(testApp)
		if len(runs) != 2 || runs[0].Version != runs[1].Version {
			t.Fatalf("runs %+v: want a resume of the same version", runs)
		}
		if _, err := p.Run(ctx, jobNamed(0)); err != nil {
			t.Fatal(err)
		}
		checkRuns(t, env.emu.Runs(testApp), 1)
		if runs := env.emu.Runs(testApp); runs[2].Version == runs[1].Version {
			t.Error("a job resumed a suspended machine instead of booting it afresh")
		}
	})
}

// cuttable is a transport that can be cut, as a process that dies
// stops talking.
type cuttable struct {
	next http.RoundTripper
	cut  atomic.Bool
}

var errCut = errors.New("connection cut")

func (c *cuttable) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errCut
	}
	return c.next.RoundTrip(r)
}

// cutClient is a client of env whose connection can be cut.
func (e *memEnv) cutClient(t *testing.T) (*flymachines.Client, *cuttable) {
	t.Helper()
	tr := &cuttable{next: inmem.Transport(e.emu)}
	c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
		flymachines.WithHTTPClient(&http.Client{Transport: tr}), flymachines.WithoutRateLimits(),
		flymachines.WithRetryPolicy(flymachines.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c, tr
}

// A claim whose lease cannot be refreshed is lost once the lease lapses:
// its context ends with ErrLeaseLost, and Release says so and leaves the
// Machine alone.
func TestClaimLostWhenItsLeaseLapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		c, tr := env.cutClient(t)
		cfg := testConfig(1)
		cfg.LeaseTTL = 5 * time.Second
		p := newPool(t, c, cfg)
		ctx := context.Background()
		cl, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		claimCtx := cl.Context(ctx)
		begin := time.Now()
		tr.cut.Store(true)
		<-cl.Done()
		synctest.Wait() // the claim's contexts end in goroutines of their own
		if lost := time.Since(begin); lost < cfg.LeaseTTL-cfg.LeaseTTL/3-time.Second || lost > cfg.LeaseTTL+time.Second {
			t.Errorf("lost after %s, want about when the lease lapsed (ttl %s)", lost, cfg.LeaseTTL)
		}
		if !errors.Is(cl.Err(), flymachines.ErrLeaseLost) || !errors.Is(context.Cause(claimCtx), flymachines.ErrLeaseLost) {
			t.Errorf("Err = %v, cause = %v: want ErrLeaseLost", cl.Err(), context.Cause(claimCtx))
		}
		tr.cut.Store(false)
		if err := cl.Release(ctx); !errors.Is(err, flymachines.ErrLeaseLost) {
			t.Errorf("Release of a lost claim: %v", err)
		}
		if ms := members(t, env.c, "workers"); ms[0].State != flymachines.StateStarted {
			t.Errorf("a lost claim's Release changed the machine: %s", ms[0].State)
		}
	})
}

// Refreshes that fail for a while, but not for as long as the lease
// lasts, lose nothing.
func TestClaimSurvivesRefreshFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		c, tr := env.cutClient(t)
		cfg := testConfig(1)
		cfg.LeaseTTL = 6 * time.Second
		p := newPool(t, c, cfg)
		ctx := context.Background()
		cl, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tr.cut.Store(true)
		time.Sleep(4 * time.Second) // two refreshes missed; the lease still runs
		tr.cut.Store(false)
		time.Sleep(20 * time.Second)
		if err := cl.Err(); err != nil {
			t.Fatalf("claim lost: %v", err)
		}
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Acquire's options: a claim left stopped, for the caller to boot; a
// claim booted with a job's command and environment.
func TestAcquireOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(1))
		ctx := context.Background()
		cl, err := p.Acquire(ctx, Stopped())
		if err != nil {
			t.Fatal(err)
		}
		if st := cl.Machine().State; st != flymachines.StateStopped {
			t.Fatalf("a Stopped claim is %s", st)
		}
		if _, err := env.c.Machines.Start(cl.Context(ctx), testApp, cl.ID(), nil); err != nil {
			t.Fatalf("the caller's own start, under the claim: %v", err)
		}
		if err := env.c.WaitStarted(ctx, testApp, cl.ID()); err != nil {
			t.Fatal(err)
		}
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		cl, err = p.Acquire(ctx, WithJob(Job{Cmd: []string{"hang"}, Env: map[string]string{"TENANT": "acme"}}))
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		runs := env.emu.Runs(testApp)
		if len(runs) != 2 || len(runs[0].Cmd) != 0 || runs[1].Cmd[0] != "hang" || runs[1].Env["TENANT"] != "acme" || runs[1].End != "stop" {
			t.Errorf("runs %+v", runs)
		}
		if _, err := p.Acquire(ctx, WithJob(Job{Env: map[string]string{"": "x"}})); !errors.Is(err, ErrInvalidJob) {
			t.Errorf("a bad job: %v", err)
		}
	})
}
