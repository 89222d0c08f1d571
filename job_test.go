package flymachines_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

func runJobRequest(image string) *models.CreateMachineRequest {
	return &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: image,
		Init: &models.FlyMachineInit{Cmd: []string{"bin/rails", "runner", "Job.perform"}}}}
}

func TestRunJob(t *testing.T) {
	t.Parallel()
	emuOpts := []flytest.Option{
		flytest.WithImageBehavior("job:ok", flytest.ExitAfter(30*time.Millisecond, 0)),
		flytest.WithImageBehavior("job:fails", flytest.ExitAfter(30*time.Millisecond, 3)),
		flytest.WithImageBehavior("job:oom", flytest.OOMAfter(30*time.Millisecond)),
	}
	ctx := context.Background()
	for _, tc := range []struct {
		image         string
		wantCode      int
		wantOOM       bool
		wantDestroyed bool
	}{
		{"job:ok", 0, false, true},
		{"job:fails", 3, false, false},
		{"job:oom", 137, true, false},
	} {
		t.Run(tc.image, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, emuOpts)
				res, err := r.c.RunJob(ctx, r.app, runJobRequest(tc.image))
				if err != nil {
					t.Fatal(err)
				}
				if res.Exit.OOMKilled != tc.wantOOM || (!tc.wantOOM && res.Exit.ExitCode != tc.wantCode) {
					t.Errorf("exit = %+v, want code %d oom %v", res.Exit, tc.wantCode, tc.wantOOM)
				}
				if res.Destroyed != tc.wantDestroyed {
					t.Errorf("destroyed = %v, want %v", res.Destroyed, tc.wantDestroyed)
				}
				m, err := r.show(res.Machine.ID)
				switch {
				case tc.wantDestroyed && err == nil && m.State != "destroyed" && m.State != "destroying":
					t.Errorf("a clean job's machine is %s, want it destroyed", m.State)
				case !tc.wantDestroyed && (err != nil || m.State != "stopped"):
					t.Errorf("a failed job's machine: %v, %v; want it kept, stopped", m, err)
				}
				if !tc.wantDestroyed && m != nil && m.Config.Restart.Policy != "no" {
					t.Errorf("restart policy %q, want no", m.Config.Restart.Policy)
				}
			})
		})
	}
}

func TestRunJobKeepMachine(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithImageBehavior("job:ok", flytest.ExitAfter(10*time.Millisecond, 0))})
		res, err := r.c.RunJob(context.Background(), r.app, runJobRequest("job:ok"), flymachines.KeepMachine())
		if err != nil || res.Destroyed {
			t.Fatalf("res = %+v, err = %v; want kept", res, err)
		}
	})
}

func TestRunJobThatNeverStarts(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithImageBehavior("job:broken", flytest.FailToStart("no such binary"))})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := r.c.RunJob(ctx, r.app, runJobRequest("job:broken"))
		if err == nil {
			t.Fatalf("a job that cannot start succeeded: %+v", res.Exit)
		}
		if res == nil || res.Machine == nil {
			t.Error("the result does not say which machine was created")
		}
		t.Log(err)
		if !errors.Is(err, flymachines.ErrMachineFailed) {
			t.Errorf("err = %v, want ErrMachineFailed", err)
		}
	})
}

func TestRunJobReportsStepsAndCleansUpAfterAnError(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{
			flytest.WithImageBehavior("job:ok", flytest.ExitAfter(20*time.Millisecond, 0)),
			flytest.WithImageBehavior("job:forever", flytest.RunUntilStopped()),
		})
		var kinds []flymachines.JobStepKind
		record := flymachines.OnJobStep(func(s flymachines.JobStep) {
			if s.Machine == nil {
				t.Error("a step without its machine")
			}
			kinds = append(kinds, s.Kind)
		})
		if _, err := r.c.RunJob(context.Background(), r.app, runJobRequest("job:ok"), record); err != nil {
			t.Fatal(err)
		}
		want := []flymachines.JobStepKind{flymachines.JobCreated, flymachines.JobStarted, flymachines.JobExited, flymachines.JobDestroyed}
		if !slices.Equal(kinds, want) {
			t.Errorf("steps %v, want %v", kinds, want)
		}

		// A job that outlives its context is destroyed, not left running.
		kinds = nil
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		res, err := r.c.RunJob(ctx, r.app, runJobRequest("job:forever"), record)
		if err == nil {
			t.Fatal("a job that never ends returned no error")
		}
		if kinds[len(kinds)-1] != flymachines.JobCleanedUp {
			t.Errorf("steps %v, want the last to be JobCleanedUp", kinds)
		}
		if m, err := r.show(res.Machine.ID); err == nil && m.State != "destroyed" && m.State != "destroying" {
			t.Errorf("the job's machine is %s, want it destroyed", m.State)
		}
	})
}
