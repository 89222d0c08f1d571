package flytest

import (
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
)

const exitSoon = 10 * time.Millisecond

func TestBehaviors(t *testing.T) {
	en := newEnv(t,
		WithImageBehavior("job-ok", ExitAfter(exitSoon, 0)),
		WithImageBehavior("job-fails", ExitAfter(exitSoon, 3)),
		WithImageBehavior("job-oom", OOMAfter(exitSoon)),
		WithImageBehavior("broken", FailToStart("exec format error")),
		// Rules are tried in order: this one never sees job-ok.
		WithBehavior(func(c *models.FlyMachineConfig) bool { return c.Metadata["kind"] == "job" }, ExitAfter(exitSoon, 0)),
	)
	restart := func(policy string, retries int64) *models.FlyMachineRestart {
		return &models.FlyMachineRestart{Policy: policy, MaxRetries: retries}
	}
	cases := []struct {
		name         string
		image        string
		metadata     map[string]string
		restart      *models.FlyMachineRestart
		autoDestroy  bool
		wantState    string
		wantCode     int
		wantOOM      bool
		wantRestarts float64 // restart_count of the last exit
		wantStarts   int     // "start/started" events
	}{
		{name: "job succeeds, on-failure leaves it stopped", image: "job-ok", wantState: stateStopped, wantStarts: 1},
		{name: "job fails, policy no", image: "job-fails", restart: restart("no", 0), wantState: stateStopped, wantCode: 3, wantStarts: 1},
		{name: "job fails, on-failure retries then stops", image: "job-fails", restart: restart("on-failure", 2), wantState: stateStopped, wantCode: 3, wantRestarts: 2, wantStarts: 3},
		{name: "oom kill counts as a failure", image: "job-oom", restart: restart("on-failure", 1), wantState: stateStopped, wantCode: 137, wantOOM: true, wantRestarts: 1, wantStarts: 2},
		{name: "auto_destroy destroys after exit", image: "job-ok", autoDestroy: true, wantState: stateDestroyed, wantStarts: 1},
		{name: "auto_destroy after a failure that is not retried", image: "job-fails", restart: restart("no", 0), autoDestroy: true, wantState: stateDestroyed, wantCode: 3, wantStarts: 1},
		{name: "matched by config", image: "worker", metadata: map[string]string{"kind": "job"}, wantState: stateStopped, wantStarts: 1},
		{name: "fails to start", image: "broken", wantState: stateFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := *en
			en.t = t
			req := createBody(tc.image)
			req.Config.Restart, req.Config.AutoDestroy, req.Config.Metadata = tc.restart, tc.autoDestroy, tc.metadata
			m := en.create(req)
			en.waitFor(m.ID, tc.wantState)
			starts := 0
			for _, ev := range en.events(m.ID) {
				if ev.Type == "start" && ev.Status == stateStarted {
					starts++
				}
			}
			if starts != tc.wantStarts {
				t.Errorf("%d boots, want %d", starts, tc.wantStarts)
			}
			if tc.wantState == stateFailed {
				return
			}
			exit := en.lastExit(m.ID)
			x := exit.ExitEvent
			if x.ExitCode != tc.wantCode || x.OOMKilled != tc.wantOOM || x.RequestedStop || x.Restarting || x.ExitedAt == "" {
				t.Errorf("last exit: %+v, want exit code %d oom %v", x, tc.wantCode, tc.wantOOM)
			}
			if float64(exit.RestartCount) != tc.wantRestarts {
				t.Errorf("restart_count %d, want %v", exit.RestartCount, tc.wantRestarts)
			}
		})
	}
}

func TestBehaviorAlwaysRestarts(t *testing.T) {
	en := newEnv(t, WithImageBehavior("job", ExitAfter(exitSoon, 0)))
	req := createBody("job")
	req.Config.Restart = &models.FlyMachineRestart{Policy: "always"}
	m := en.create(req)
	deadline := time.Now().Add(5 * time.Second)
	for en.lastExitCount(m.ID) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("policy always did not keep restarting a job that exits 0")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A requested stop ends it, and is not restarted.
	waitStarted(t, en, m.ID)
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	if x := en.lastExit(m.ID).ExitEvent; !x.RequestedStop || x.Restarting {
		t.Errorf("exit after stop: %+v", x)
	}
	time.Sleep(5 * exitSoon)
	if s := en.show(m.ID).State; s != stateStopped {
		t.Errorf("after a requested stop the machine went to %s", s)
	}
}

// waitStarted tolerates a restart loop: it returns once the Machine is
// started, whichever boot that is.
func waitStarted(t *testing.T, en *env, id string) {
	t.Helper()
	if _, err := en.wait(id, waitParams("started")); err != nil {
		t.Fatal(errText(err))
	}
}

func (en *env) lastExitCount(id string) int {
	n := 0
	for _, ev := range en.events(id) {
		if ev.Type == "exit" {
			n++
		}
	}
	return n
}

func TestSignal(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	signal := func(sig flytypes.Signal) error {
		return en.c.Machines.Signal(en.ctx, testApp, m.ID, &models.SignalRequest{Signal: sig}, nil)
	}
	if err := signal("SIGUSR1"); err != nil {
		t.Fatal(errText(err))
	}
	time.Sleep(5 * testDelay)
	if en.lastExitCount(m.ID) != 0 {
		t.Error("SIGUSR1 ended the process")
	}
	// SIGTERM kills it: an unrequested exit, which on-failure restarts.
	if err := signal("SIGTERM"); err != nil {
		t.Fatal(errText(err))
	}
	deadline := time.Now().Add(5 * time.Second)
	for en.lastExitCount(m.ID) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	x := en.lastExit(m.ID).ExitEvent
	if x.Signal != 15 || x.ExitCode != 143 || x.RequestedStop || !x.Restarting {
		t.Errorf("exit after SIGTERM: %+v", x)
	}
	en.waitFor(m.ID, stateStarted)
	// A numeric signal, as flyctl's machine kill sends it ({"signal":9}).
	killed := en.lastExitCount(m.ID)
	if err := signal(flytypes.SignalNumber(9)); err != nil {
		t.Fatal(errText(err))
	}
	for en.lastExitCount(m.ID) == killed && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if x := en.lastExit(m.ID).ExitEvent; x.Signal != 9 || x.ExitCode != 137 {
		t.Errorf("exit after signal 9: %+v", x)
	}
	en.waitFor(m.ID, stateStarted)
	if err := signal(""); codeOf(err) != 400 {
		t.Errorf("signal without a name: %v", err)
	}
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	if err := signal("SIGTERM"); codeOf(err) != 412 {
		t.Errorf("signal to a stopped machine: %v", err)
	}
}

// TestJobMachineFlow is the flow behaviours exist for: run a job Machine,
// wait for it to exit, inspect its exit code, destroy it.
func TestJobMachineFlow(t *testing.T) {
	en := newEnv(t, WithImageBehavior("migrate", ExitAfter(20*time.Millisecond, 0)))
	req := createBody("migrate")
	req.Config.Restart = &models.FlyMachineRestart{Policy: "no"}
	m := en.create(req)

	res, err := en.wait(m.ID, waitVersion(m.Version, 5, "stopped"))
	if err != nil {
		t.Fatal(errText(err))
	}
	if res.State != stateStopped {
		t.Fatalf("wait: %+v", res)
	}
	if x := en.lastExit(m.ID).ExitEvent; x.ExitCode != 0 || x.RequestedStop {
		t.Fatalf("job exit: %+v", x)
	}
	if _, err := en.do(m.ID, "destroy"); err != nil {
		t.Fatal(errText(err))
	}
	if res, err := en.wait(m.ID, waitVersion(m.Version, 5, "destroyed")); err != nil || res.State != stateDestroyed {
		t.Fatalf("wait destroyed: %+v %v", res, err)
	}
	if got := en.show(m.ID); got.State != stateDestroyed {
		t.Errorf("destroyed job: %s", got.State)
	}
}
