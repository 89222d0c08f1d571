package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestOnDemand(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-work", "3", "-pool", "2", "-jobs", "4"}, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	// The pieces of work, one after another, all ran on one Machine.
	work := regexp.MustCompile(`work \d: machine (\w+), exit code 0`).FindAllStringSubmatch(text, -1)
	if len(work) != 3 || work[0][1] != work[1][1] || work[1][1] != work[2][1] {
		t.Errorf("work ran on %q, want three times on one machine:\n%s", work, text)
	}
	// Four jobs at once, on the pool's two machines.
	jobs := regexp.MustCompile(`job \d: machine (\w+), exit code 0`).FindAllStringSubmatch(text, -1)
	perMachine := map[string]int{}
	for _, j := range jobs {
		perMachine[j[1]]++
	}
	if len(jobs) != 4 || len(perMachine) > 2 {
		t.Errorf("jobs per machine %v, want 4 jobs on at most 2 machines:\n%s", perMachine, text)
	}
	for _, want := range []string{"4 jobs on ", "destroyed the 2 machines of this run"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
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
	if len(list) != 2 {
		t.Errorf("%d machines in my-workers, want 2", len(list))
	}
	for _, m := range list {
		if m.Config == nil || m.Config.Init == nil || len(m.Config.Init.Cmd) != 3 || m.Config.Init.Cmd[2] != "exit 0" {
			t.Errorf("machine %s runs %+v, want the command given", m.ID, m.Config)
		}
		if m.State != "destroying" && m.State != "destroyed" {
			t.Errorf("machine %s left %s", m.ID, m.State)
		}
	}
	if !strings.Contains(out.String(), "destroyed the 2 machines") {
		t.Errorf("output:\n%s", out.String())
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
func TestDestroyedSaysHowMany(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: "\ndestroyed the machine of this run\n", 2: "\ndestroyed the 2 machines of this run\n"} {
		if got := destroyed(n); got != want {
			t.Errorf("%d machines: %q, want %q", n, got, want)
		}
	}
}
