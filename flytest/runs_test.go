package flytest

import (
	"slices"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Every run is recorded with what it ran and why it ended: its own exit
// (with the code), a stop, an update that replaced it.
func TestRunsRecordWhatRanAndHowItEnded(t *testing.T) {
	isJob := func(c *models.FlyMachineConfig) bool {
		return c.Init != nil && len(c.Init.Cmd) > 0 && c.Init.Cmd[0] == "job"
	}
	en := newEnv(t, WithBehavior(isJob, ExitAfter(20*time.Millisecond, 3)))
	before := time.Now()

	// A job: it runs its command and exits 3.
	req := createBody("worker")
	req.Config.Init = &models.FlyMachineInit{Cmd: []string{"job", "one"}}
	req.Config.Env = map[string]string{"JOB": "one"}
	req.Config.Metadata = map[string]string{"pool": "p"}
	req.Config.Restart = &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo}
	job := en.create(req)
	en.waitFor(job.ID, stateStopped)

	// A service: stopped by request, then started again and replaced by
	// an update while it runs.
	svc := en.started("nginx")
	en.stop(svc.ID)
	en.waitFor(svc.ID, stateStopped)
	if _, err := en.c.Machines.Start(en.ctx, testApp, svc.ID, nil); err != nil {
		t.Fatal(err)
	}
	en.waitFor(svc.ID, stateStarted)
	upd := &models.UpdateMachineRequest{Config: machineConfig("nginx:2")}
	if _, err := en.c.Machines.Update(en.ctx, testApp, svc.ID, upd, nil); err != nil {
		t.Fatal(err)
	}
	en.waitFor(svc.ID, stateStarted)

	runs := en.srv.Runs(testApp)
	if len(runs) != 4 {
		t.Fatalf("%d runs, want 4: %+v", len(runs), runs)
	}
	j := runs[0]
	if j.MachineID != job.ID || !slices.Equal(j.Cmd, []string{"job", "one"}) || j.Env["JOB"] != "one" ||
		j.Metadata["pool"] != "p" || j.Image != "worker" || j.Version != job.Version {
		t.Errorf("job run = %+v", j)
	}
	if j.End != "exit" || j.ExitCode != 3 || j.Running() {
		t.Errorf("job run ended %q with %d, want exit 3", j.End, j.ExitCode)
	}
	if j.Started.Before(before) || !j.Ended.After(j.Started) {
		t.Errorf("job run from %v to %v", j.Started, j.Ended)
	}
	var ends []string
	for _, r := range runs[1:] {
		if r.MachineID != svc.ID {
			t.Errorf("run of %s, want %s", r.MachineID, svc.ID)
		}
		ends = append(ends, r.End)
	}
	if !slices.Equal(ends, []string{"stop", "update", ""}) {
		t.Errorf("service runs ended %q, want stop, update, and one running", ends)
	}
	if last := runs[3]; !last.Running() || last.Image != "nginx:2" || !last.Ended.IsZero() {
		t.Errorf("current run = %+v", last)
	}
	if got := en.srv.Runs("other-app"); len(got) != 0 {
		t.Errorf("runs of another app: %+v", got)
	}
	if got := en.srv.Runs(""); len(got) != 4 {
		t.Errorf("runs of every app: %d, want 4", len(got))
	}

	// Copies: changing one changes nothing the emulator holds.
	runs[0].Env["JOB"], runs[0].Cmd[0] = "changed", "changed"
	if again := en.srv.Runs(testApp)[0]; again.Env["JOB"] != "one" || again.Cmd[0] != "job" {
		t.Errorf("Runs handed out its own maps: %+v", again)
	}
}
