package pool

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
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
