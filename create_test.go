package flymachines_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// createFaults are the faults of TestThousandCreatesUnderFaults: every
// ambiguous and unambiguous failure a create can meet.
var createFaults = []flytest.Fault{
	{Status: 408, AfterApply: true, Rate: 0.10},
	{Drop: true, AfterApply: true, Rate: 0.05},
	{Status: 502, AfterApply: true, Rate: 0.05},
	{Status: 503, Rate: 0.05},
	{Drop: true, Rate: 0.03},
	{Status: 429, Rate: 0.05},
}

// TestThousandCreatesWithLaggingFaultyLists: the create faults of
// TestThousandCreatesUnderFaults, plus a Machine list that lags 1-2 s
// behind creates and answers 500 to half the lookups. With the default
// launch window, 1,000 creates still leave exactly 1,000 Machines, each
// returned to its caller or reported as unresolved with its launch id.
func TestThousandCreatesWithLaggingFaultyLists(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithSeed(11), flytest.WithTransitionDelay(time.Millisecond),
			flytest.WithListLag(time.Second, 2*time.Second)})
		for _, f := range createFaults {
			r.srv.InjectFault("Machines_create", f)
		}
		listFault := r.srv.InjectFault("Machines_list", flytest.Fault{Status: 500, Rate: 0.5})

		const total, workers = 1000, 8
		var next atomic.Int64
		returned := make([]string, total)
		var failed atomic.Int64
		var wg sync.WaitGroup
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
						failed.Add(1)
						t.Logf("create %d: %v", i, err)
						continue
					}
					returned[i] = m.ID
				}
			})
		}
		wg.Wait()
		t.Logf("%d lookups hit a 500; %d creates returned an error", r.srv.FaultHits(listFault), failed.Load())
		r.srv.RemoveFault(listFault)
		time.Sleep(3 * time.Second) // past the list's lag
		all := r.allMachines()
		t.Logf("%d machines from %d creates", len(all), total)
		if len(all) != total {
			t.Errorf("%d machines exist, want exactly %d", len(all), total)
		}
		byN := map[string]int{}
		for _, m := range all {
			byN[m.Config.Metadata["n"]]++
		}
		for i := range total {
			if c := byN[fmt.Sprint(i)]; c != 1 {
				t.Errorf("create %d made %d machines", i, c)
			}
		}
		_ = returned
	})
}
