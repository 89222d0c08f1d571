package pool

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
)

// The first job creates a Machine, stopped and leased from its birth, and
// boots it with the job; the next job reuses it. Each ran once, with its
// command and environment over the pool's config, and the Machine is left
// stopped, free, with no lease.
func TestRunCreatesOnceThenReuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(4)
		cfg.Config.Env = map[string]string{"MODE": "batch", "JOB_ID": "none"}
		p := newPool(t, env.c, cfg)
		ctx := context.Background()

		for id := range 2 {
			st, err := p.Run(ctx, jobNamed(id))
			if err != nil {
				t.Fatalf("job %d: %v", id, err)
			}
			if !st.Success() || st.State != flymachines.StateStopped || st.RequestedStop {
				t.Errorf("job %d: status %+v", id, st)
			}
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 1 {
			t.Fatalf("%d machines in the pool, want 1", len(ms))
		}
		m := ms[0]
		if m.State != flymachines.StateStopped || m.Lease != nil {
			t.Errorf("machine left %s, lease %+v", m.State, m.Lease)
		}
		if got := metadataOf(m); got[KeyGeneration] != p.Generation() || got[flymachines.LaunchIDKey] == "" {
			t.Errorf("metadata %v: want the generation and the create's launch id kept", got)
		}
		runs := env.emu.Runs(testApp)
		if len(runs) != 2 {
			t.Fatalf("%d runs, want 2: %+v", len(runs), runs)
		}
		for id, r := range runs {
			want := jobNamed(id)
			if r.MachineID != m.ID || !slices.Equal(r.Cmd, want.Cmd) || r.Env["JOB_ID"] != want.Env["JOB_ID"] ||
				r.Env["MODE"] != "batch" || r.End != "exit" || r.ExitCode != 0 || r.Image != "worker:1" {
				t.Errorf("run %d = %+v", id, r)
			}
		}
	})
}

// A job with the command the Machine ran last is only a start: no update,
// no new version.
func TestRunSameJobAgainIsAStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(1))
		ctx := context.Background()
		for range 3 {
			if _, err := p.Run(ctx, jobNamed(7)); err != nil {
				t.Fatal(err)
			}
		}
		runs := env.emu.Runs(testApp)
		if len(runs) != 3 || runs[0].Version != runs[2].Version {
			t.Fatalf("runs %+v: want three on one version", runs)
		}
		versions, err := env.c.Machines.ListVersions(ctx, testApp, runs[0].MachineID)
		if err != nil {
			t.Fatal(err)
		}
		if len(versions) != 2 { // created, then updated once for the job
			t.Errorf("%d versions, want 2", len(versions))
		}
		// The pool's own config (no command: on the emulator, it runs
		// until stopped) is an update back to it.
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := p.Run(short, Job{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the pool's own command: %v", err)
		}
		runs = env.emu.Runs(testApp)
		if last := runs[len(runs)-1]; len(last.Cmd) != 0 || last.Env["JOB_ID"] != "" || last.Version == runs[0].Version {
			t.Errorf("the pool's config ran as %+v", last)
		}
	})
}

// A job that fails is a result, and its Machine goes back to the pool.
func TestRunFailedJobIsAResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(1))
		st, err := p.Run(context.Background(), Job{Cmd: []string{"fail"}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Success() || st.ExitCode != 3 {
			t.Errorf("status %+v, want exit code 3", st)
		}
		if _, err := p.Run(context.Background(), jobNamed(1)); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n != 1 {
			t.Errorf("%d machines, want the failed job's reused", n)
		}
	})
}

// Jobs that come together share the pool up to Max, each Machine running
// one at a time; the rest wait for a Machine to come free.
func TestRunsAtOnceStayWithinMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(3))
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for id := range 10 {
			wg.Go(func() { _, errs[id] = p.Run(context.Background(), jobNamed(id)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n != 3 {
			t.Errorf("%d machines, want 3 (Max)", n)
		}
		checkRuns(t, env.emu.Runs(testApp), 10)
	})
}

// checkRuns checks the emulator's record: jobs 0..n-1 each ran exactly
// once, to their own exit, and no Machine ran two at once.
func checkRuns(t *testing.T, runs []flytest.Run, n int) {
	t.Helper()
	for id := range n {
		rs := runsOf(runs, jobNamed(id).Env["JOB_ID"])
		if len(rs) != 1 || rs[0].End != "exit" {
			t.Errorf("job %d ran %d times: %+v", id, len(rs), rs)
		}
	}
	byMachine := map[string][]flytest.Run{}
	for _, r := range runs {
		byMachine[r.MachineID] = append(byMachine[r.MachineID], r)
	}
	for id, rs := range byMachine {
		for i := 1; i < len(rs); i++ {
			if rs[i-1].Running() || rs[i].Started.Before(rs[i-1].Ended) {
				t.Errorf("machine %s: runs overlap: %+v and %+v", id, rs[i-1], rs[i])
			}
		}
	}
}

// Two processes (two clients, each its own Pool) share one pool: no
// Machine is claimed by both, and neither creates past Max for long.
func TestTwoProcessesShareOnePool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		pools := []*Pool{newPool(t, env.c, testConfig(3)), newPool(t, env.client(t), testConfig(3))}
		var wg sync.WaitGroup
		errs := make([]error, 12)
		for id := range 12 {
			wg.Go(func() { _, errs[id] = pools[id%2].Run(context.Background(), jobNamed(id)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkRuns(t, env.emu.Runs(testApp), 12)
		if n := len(members(t, env.c, "workers")); n > 4 {
			t.Errorf("%d machines: more than Max and one overshoot", n)
		}
	})
}

// A Machine that fails to boot is destroyed; nothing ran, so the error
// says the job may be run again.
func TestRunOnAMachineThatFailsToStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(2)
		cfg.Config.Image = "broken"
		p := newPool(t, env.c, cfg)
		_, err := p.Run(context.Background(), jobNamed(1))
		if !errors.Is(err, ErrNotStarted) || !errors.Is(err, flymachines.ErrMachineFailed) {
			t.Fatalf("err = %v, want ErrNotStarted and ErrMachineFailed", err)
		}
		synctest.Wait()
		if ms := members(t, env.c, "workers"); len(ms) != 0 {
			t.Errorf("machines left: %d", len(ms))
		}
	})
}

// Capacity errors move creation to the next region.
func TestRunCreatesInTheNextRegionWithCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t, flytest.WithCapacityError("ord"))
		cfg := testConfig(2)
		cfg.Regions = []string{"ord", "iad"}
		p := newPool(t, env.c, cfg)
		if _, err := p.Run(context.Background(), jobNamed(1)); err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); len(ms) != 1 || ms[0].Region != "iad" {
			t.Errorf("machines %+v, want one in iad", ms)
		}

		// No capacity anywhere: nothing started.
		full := newMemEnv(t, flytest.WithCapacityError("ord", "iad"))
		p = newPool(t, full.c, cfg)
		if _, err := p.Run(context.Background(), jobNamed(1)); !errors.Is(err, ErrNotStarted) || !errors.Is(err, flymachines.ErrCapacity) {
			t.Errorf("err = %v, want ErrNotStarted and ErrCapacity", err)
		}
	})
}

// An update whose answer is lost after it took effect is not sent again:
// the job runs once. One lost before it took effect is sent again.
func TestRunLostUpdateAnswers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault flytest.Fault
	}{
		{"applied, answer dropped", flytest.Fault{AfterApply: true, Drop: true, Times: 1}},
		{"applied, 502", flytest.Fault{AfterApply: true, Status: 502, Times: 1}},
		{"not applied, 503", flytest.Fault{Status: 503, Times: 1}},
		{"not applied, dropped", flytest.Fault{Drop: true, Times: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				env := newMemEnv(t)
				id := env.emu.InjectFault("Machines_update", tc.fault)
				p := newPool(t, env.c, testConfig(1))
				st, err := p.Run(context.Background(), jobNamed(0))
				if err != nil || !st.Success() {
					t.Fatalf("Run: %+v, %v", st, err)
				}
				if env.emu.FaultHits(id) != 1 {
					t.Error("the fault never hit")
				}
				checkRuns(t, env.emu.Runs(testApp), 1)
			})
		})
	}
}

// The caller giving up mid-job stops the job's Machine and gives it back.
func TestRunCancelledMidJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(1))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := p.Run(ctx, Job{Cmd: []string{"hang"}})
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotStarted) {
			t.Fatalf("err = %v, want the deadline, not ErrNotStarted", err)
		}
		runs := env.emu.Runs(testApp)
		if len(runs) != 1 || runs[0].End != "stop" {
			t.Fatalf("runs %+v: want one, stopped", runs)
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 1 || ms[0].State != flymachines.StateStopped || ms[0].Lease != nil {
			t.Errorf("machine left %+v", ms)
		}
		// It is free for the next job.
		if _, err := p.Run(context.Background(), jobNamed(1)); err != nil {
			t.Fatal(err)
		}
	})
}

// Nothing is sent for a job or config that cannot work.
func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		before := env.requests.n.Load()
		p := newPool(t, env.c, testConfig(1))
		if _, err := p.Run(context.Background(), Job{Env: map[string]string{"A=B": "c"}}); !errors.Is(err, ErrInvalidJob) || !errors.Is(err, ErrNotStarted) {
			t.Errorf("bad env: %v", err)
		}
		for _, cfg := range []Config{
			{},
			{App: testApp, Name: "x", Max: 1},
			{App: testApp, Name: "x", Max: 0, Config: testConfig(1).Config},
			{App: testApp, Name: "x", Max: 1, Min: 2, Config: testConfig(1).Config},
			{App: testApp, Name: "x", Max: 1, LeaseTTL: 10 * time.Millisecond, Config: testConfig(1).Config},
		} {
			if _, err := New(env.c, cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
			}
		}
		bad := testConfig(1)
		bad.Config.AutoDestroy = true
		if _, err := New(env.c, bad); !errors.Is(err, ErrConfig) {
			t.Errorf("auto_destroy accepted: %v", err)
		}
		if _, err := New(nil, testConfig(1)); !errors.Is(err, ErrConfig) {
			t.Errorf("no client: %v", err)
		}
		if n := env.requests.n.Load() - before; n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
}

var _ = machines.ListParams{}
