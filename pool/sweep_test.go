package pool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// runAll runs jobs 0..n-1 at once on p.
func runAll(t *testing.T, p *Pool, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for id := range n {
		wg.Go(func() { _, errs[id] = p.Run(context.Background(), jobNamed(id)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// A process that dies mid-job leaves its Machine running under a lease
// nobody refreshes. No sweep touches it while the lease lives; once it
// has lapsed, the next sweep stops the Machine, and it is free again.
func TestSweepReclaimsAMachineItsHolderLeftRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(2)
		cfg.LeaseTTL = 6 * time.Second
		dying, tr := env.cutClient(t)
		p1 := newPool(t, dying, cfg)
		ctx1, cancel1 := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := p1.Run(ctx1, Job{Cmd: []string{"hang"}})
			done <- err
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		if runs := env.emu.Runs(testApp); len(runs) != 1 || !runs[0].Running() {
			t.Fatalf("runs %+v: want the job running", runs)
		}
		p2 := newPool(t, env.c, cfg)
		if err := p2.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}

		tr.cut.Store(true) // the holder dies
		died := time.Now()
		time.Sleep(cfg.LeaseTTL / 2)
		if err := p2.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if runs := env.emu.Runs(testApp); !runs[0].Running() {
			t.Fatalf("stopped while its lease still ran: %+v", runs[0])
		}
		time.Sleep(cfg.LeaseTTL + cfg.ReclaimAfter)
		if err := p2.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		run := env.emu.Runs(testApp)[0]
		if run.End != "stop" {
			t.Fatalf("run %+v: want it stopped by the sweep", run)
		}
		if lapsed := died.Add(cfg.LeaseTTL - cfg.LeaseTTL/3); run.Ended.Before(lapsed) {
			t.Errorf("stopped at %v, before the lease could lapse (%v)", run.Ended, lapsed)
		}
		// Free again once down: the next job runs on it.
		time.Sleep(time.Second)
		if _, err := p2.Run(context.Background(), jobNamed(0)); err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); len(ms) != 1 {
			t.Errorf("%d machines, want the reclaimed one reused", len(ms))
		}
		cancel1()
		if err := <-done; errors.Is(err, ErrNotStarted) {
			t.Errorf("the dead holder's Run says nothing started: %v", err)
		}
	})
}

// Machines stopped for IdleTimeout are destroyed down to Min, the longest
// idle first; busier ones are kept.
func TestSweepDestroysIdleMachinesAboveMin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(3)
		cfg.Min = 1
		p := newPool(t, env.c, cfg)
		runAll(t, p, 3)
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n != 3 {
			t.Fatalf("%d machines after a sweep, want 3: none idle yet", n)
		}
		time.Sleep(DefaultIdleTimeout / 2)
		if _, err := p.Run(context.Background(), jobNamed(3)); err != nil {
			t.Fatal(err)
		}
		last := env.emu.Runs(testApp)[3].MachineID
		time.Sleep(DefaultIdleTimeout/2 + time.Second)
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 1 || ms[0].ID != last {
			t.Fatalf("left %d machines (%v), want the one used last, %s", len(ms), ms, last)
		}
		time.Sleep(2 * DefaultIdleTimeout)
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n != 1 {
			t.Errorf("%d machines, want Min (1) kept however idle", n)
		}
	})
}

// Above Max (concurrent creators overshot it), free Machines are destroyed
// down to Max, idle or not.
func TestSweepTrimsAboveMax(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		runAll(t, newPool(t, env.c, testConfig(5)), 5)
		p := newPool(t, env.client(t), testConfig(2))
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(members(t, env.c, "workers")); n != 2 {
			t.Errorf("%d machines, want Max (2)", n)
		}
	})
}

// Below Min, a sweep creates stopped Machines, free at once.
func TestSweepCreatesUpToMin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(3)
		cfg.Min = 2
		p := newPool(t, env.c, cfg)
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 2 {
			t.Fatalf("%d machines, want 2", len(ms))
		}
		for _, m := range ms {
			if m.State != flymachines.StateStopped || m.Lease != nil || generationOf(m) != p.Generation() {
				t.Errorf("spare %s: %s, lease %+v, generation %s", m.ID, m.State, m.Lease, generationOf(m))
			}
		}
		runAll(t, p, 2)
		if n := len(members(t, env.c, "workers")); n != 2 {
			t.Errorf("%d machines after two jobs, want the two spares used", n)
		}
	})
}

// A failed Machine of the pool that nobody holds is destroyed.
func TestSweepDestroysFailedMachines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(2))
		conf := p.tmpl.config(Job{}, nil)
		conf.Image = "broken"
		m, err := env.c.CreateMachine(context.Background(), testApp, &models.CreateMachineRequest{Config: conf})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if err := p.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); len(ms) != 0 {
			t.Errorf("failed machine %s left: %+v", m.ID, ms)
		}
	})
}

// A new config (a new image) is a new generation: its process destroys
// the old Machines as they come free and makes its own; a process still
// on the old config leaves the new Machines alone.
func TestNewGenerationReplacesTheOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		old := newPool(t, env.c, testConfig(3))
		runAll(t, old, 2)
		busy, err := old.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}

		time.Sleep(time.Second) // adopted a second later
		cfg := testConfig(3)
		cfg.Config.Image = "worker:2"
		cur := newPool(t, env.client(t), cfg)
		if cur.Generation() == old.Generation() {
			t.Fatal("a new image is the same generation")
		}
		if _, err := cur.Run(context.Background(), jobNamed(0)); err != nil {
			t.Fatal(err)
		}
		gens := map[string]int{}
		for _, m := range members(t, env.c, "workers") {
			gens[generationOf(m)]++
		}
		if gens[old.Generation()] != 1 || gens[cur.Generation()] != 1 {
			t.Fatalf("generations %v: want the busy old machine and one new", gens)
		}
		// The old process's sweep leaves the new Machine alone.
		if err := old.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := busy.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := cur.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		ms := members(t, env.c, "workers")
		if len(ms) != 1 || generationOf(ms[0]) != cur.Generation() {
			t.Errorf("left %+v, want the new machine only", ms)
		}
	})
}

// Drain destroys free Machines at once and busy ones when their claims
// end, then claims nothing more.
func TestDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		p := newPool(t, env.c, testConfig(3))
		runAll(t, p, 3)
		busy, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		drained := make(chan error, 1)
		go func() { drained <- p.Drain(context.Background()) }()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if ms := members(t, env.c, "workers"); len(ms) != 1 || ms[0].ID != busy.ID() {
			t.Fatalf("while draining: %+v, want the busy machine only", ms)
		}
		select {
		case err := <-drained:
			t.Fatalf("Drain returned with a busy machine left: %v", err)
		default:
		}
		if err := busy.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-drained; err != nil {
			t.Fatal(err)
		}
		if ms := members(t, env.c, "workers"); len(ms) != 0 {
			t.Errorf("left %+v", ms)
		}
		if _, err := p.Run(context.Background(), jobNamed(9)); !errors.Is(err, ErrDrained) || !errors.Is(err, ErrNotStarted) {
			t.Errorf("Run after Drain: %v", err)
		}
	})
}

// Status counts the Machines by state and generation and names who holds
// each.
func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env := newMemEnv(t)
		cfg := testConfig(3)
		cfg.Holder = "host-a:42"
		p := newPool(t, env.c, cfg)
		runAll(t, p, 2)
		cl, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(context.Background())
		st, err := p.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Machines) != 2 || st.Free != 1 || st.Busy != 1 || st.ByState["started"] != 1 || st.ByState["stopped"] != 1 ||
			st.ByGeneration[p.Generation()] != 2 || st.Generation != p.Generation() {
			t.Fatalf("status %+v", st)
		}
		for _, m := range st.Machines {
			switch m.ID {
			case cl.ID():
				if !strings.Contains(m.HeldBy, "host-a:42") || m.Free || !m.LeaseExpires.After(time.Now()) {
					t.Errorf("claimed machine: %+v", m)
				}
			default:
				if m.HeldBy != "" || !m.Free || !m.Current || m.Job == "" {
					t.Errorf("free machine: %+v", m)
				}
			}
		}
	})
}

var _ = flytest.Run{}
