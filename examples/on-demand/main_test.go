package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestOnDemand(t *testing.T) {
	sandboxtest.NoToken(t)
	// Quick, but with runs long enough that the first piece of work surely
	// finds the Machine on its first run.
	cfg := sandboxtest.Fast()
	cfg.TransitionDelay, cfg.JobRuntime = 10*time.Millisecond, 200*time.Millisecond
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-work", "1", "-pool", "2", "-jobs", "4"}, cfg); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	// The first piece of work finds the Machine still on its first run.
	if !regexp.MustCompile(`work 1: machine \w+ is busy \(HTTP 412\), waiting for it to stop`).MatchString(text) {
		t.Errorf("no 412 handled:\n%s", text)
	}
	for _, want := range []string{"work 1: done, exit code 0", "created 2 stopped machines",
		"4 jobs on 2 machines took", "destroyed the 3 machines of this run"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// Four jobs, on the two pool machines only, each twice.
	jobs := regexp.MustCompile(`job \d: machine (\w+), exit code 0`).FindAllStringSubmatch(text, -1)
	perMachine := map[string]int{}
	for _, j := range jobs {
		perMachine[j[1]]++
	}
	if len(jobs) != 4 || len(perMachine) != 2 {
		t.Errorf("jobs per machine %v, want 4 jobs on 2 machines:\n%s", perMachine, text)
	}
}

func TestOnDemandLeavesNoMachineOnTheAPI(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "my-workers", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(ctx, &out, []string{"-app", "my-workers", "-work", "1", "-pool", "2", "-jobs", "3", "sh", "-c", "exit 0"}, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	list, err := c.Machines.List(ctx, "my-workers", &machines.ListParams{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Errorf("%d machines in my-workers, want 3", len(list))
	}
	for _, m := range list {
		if m.Config == nil || m.Config.Init == nil || len(m.Config.Init.Cmd) != 3 || m.Config.Init.Cmd[2] != "exit 0" {
			t.Errorf("machine %s runs %+v, want the command given", m.ID, m.Config)
		}
		if m.State != "destroying" && m.State != "destroyed" {
			t.Errorf("machine %s left %s", m.ID, m.State)
		}
	}
	if !strings.Contains(out.String(), "destroyed the 3 machines") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestIsBusy(t *testing.T) {
	srv := flytest.NewServer(t, append(sandbox.EmulatorOptions(sandboxtest.Fast()), flytest.WithCapacityError("ams"))...)
	c, err := flymachines.New(flymachines.WithToken("fo1_is-busy-test"), flymachines.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "busy-test"}); err != nil {
		t.Fatal(err)
	}
	req := &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}}
	m, err := c.CreateMachine(ctx, "busy-test", req)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitStarted(ctx, "busy-test", m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.Machines.Start(ctx, "busy-test", m.ID, nil)
	if !isBusy(err) {
		t.Errorf("start of a started machine: isBusy(%v) = false", err)
	}
	req.Region = "ams"
	if _, err := c.CreateMachine(ctx, "busy-test", req); err == nil || isBusy(err) {
		t.Errorf("no capacity: isBusy(%v) = true", err)
	}
	if isBusy(nil) || isBusy(context.Canceled) {
		t.Error("isBusy of a non-API error")
	}
}

func TestFlags(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-pool", "0"}, sandboxtest.Fast()); err == nil {
		t.Error("an empty pool was accepted")
	}
	if err := run(context.Background(), &out, []string{"-nope"}, sandboxtest.Fast()); err == nil || !strings.Contains(err.Error(), "-nope") {
		t.Errorf("bad flag: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("bad flags printed %q; main prints the error, once", out.String())
	}
}

// The count of Machines destroyed reads as English for one Machine too.
func TestDestroyAllSaysHowMany(t *testing.T) {
	srv := flytest.NewServer(t, sandbox.EmulatorOptions(sandboxtest.Fast())...)
	c, err := flymachines.New(flymachines.WithToken("fo1_destroy-all-test"), flymachines.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "destroy-test"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		machines int
		want     string
	}{{0, ""}, {1, "\ndestroyed the machine of this run\n"}, {2, "\ndestroyed the 2 machines of this run\n"}} {
		var out bytes.Buffer
		f := &flow{c: c, app: "destroy-test", out: &out}
		for range tc.machines {
			if _, err := f.create(ctx, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "nginx"}}); err != nil {
				t.Fatal(err)
			}
		}
		f.destroyAll()
		if out.String() != tc.want {
			t.Errorf("%d machines: printed %q, want %q", tc.machines, out.String(), tc.want)
		}
	}
}
