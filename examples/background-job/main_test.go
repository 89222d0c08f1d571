package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestCleanJobIsDestroyed(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	// The emulator's own timings, as a user sees them.
	if err := run(context.Background(), &out, []string{"sh", "-c", "echo hello; exit 0"}, sandbox.Config{}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"embedded Machines API emulator",
		`running ["sh" "-c" "echo hello; exit 0"] on a new machine from alpine:3.20`,
		"created machine ",
		"started after ",
		"exited with code 0 after ",
		"destroyed the machine: clean exit",
		"job done in ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFailedJobIsKept(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-region", "syd", "sh", "-c", "exit 3"}, sandboxtest.Fast())
	if err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("err = %v, want the job's exit code 3\n%s", err, out.String())
	}
	for _, want := range []string{"in syd", "exited with code 3", "kept machine ", "(stopped) for inspection"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "destroyed") {
		t.Errorf("a failed job's machine was destroyed:\n%s", out.String())
	}
}

// With a token, the example works in a throwaway app on the API: after a
// clean job nothing is left; after a failed one the app and the stopped
// Machine are.
func TestOnTheAPI(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()

	var out bytes.Buffer
	if err := run(ctx, &out, nil, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Using the Fly Machines API at") {
		t.Errorf("not on the API:\n%s", out.String())
	}
	app := regexp.MustCompile(`app (background-job-\w+)`).FindStringSubmatch(out.String())
	if app == nil {
		t.Fatalf("no app in the output:\n%s", out.String())
	}
	if _, err := c.Apps.Show(ctx, app[1]); !errors.Is(err, flymachines.ErrNotFound) {
		t.Errorf("the throwaway app %s is still there after a clean job (err %v)", app[1], err)
	}

	out.Reset()
	if err := run(ctx, &out, []string{"sh", "-c", "exit 7"}, sandboxtest.Fast()); err == nil {
		t.Fatal("a failed job succeeded")
	}
	kept := regexp.MustCompile(`fly machine status (\w+) -a (\S+)`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("no kept machine in the output:\n%s", out.String())
	}
	id, keptApp := kept[1], kept[2]
	m, err := c.Machines.Show(ctx, keptApp, id, nil)
	if err != nil {
		t.Fatalf("the failed job's machine is gone: %v", err)
	}
	if m.State != flymachines.StateStopped {
		t.Errorf("the kept machine is %s, want stopped", m.State)
	}
	if !strings.Contains(out.String(), "fly apps destroy "+keptApp) {
		t.Errorf("no word on deleting the kept app:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-bogus"}, sandboxtest.Fast()); err == nil || !strings.Contains(err.Error(), "-bogus") {
		t.Errorf("bad flag: err = %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("a bad flag printed %q; main prints the error, once", out.String())
	}
	if err := run(context.Background(), &out, []string{"-h"}, sandboxtest.Fast()); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: err = %v", err)
	}
	if !strings.HasPrefix(out.String(), "usage: background-job [flags] [command [arg...]]") || !strings.Contains(out.String(), "-image") {
		t.Errorf("-h printed:\n%s", out.String())
	}
}

func TestMachineThatCannotStartIsKept(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast(), flytest.WithImageBehavior("broken:1", flytest.FailToStart("exec format error")))
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-image", "broken:1"}, sandboxtest.Fast())
	if !errors.Is(err, flymachines.ErrMachineFailed) {
		t.Fatalf("err = %v, want ErrMachineFailed\n%s", err, out.String())
	}
	kept := regexp.MustCompile(`failed to start; kept: fly machine status (\w+) -a (\S+)`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	m, err := c.Machines.Show(context.Background(), kept[2], kept[1], nil)
	if err != nil || m.State != "failed" {
		t.Errorf("kept machine: %v, %v", m, err)
	}
}

// A job cut short by its timeout leaves nothing running.
func TestTimedOutJobIsDestroyed(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast(), flytest.WithImageBehavior("nginx", flytest.RunUntilStopped()))
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "slow-jobs", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(ctx, &out, []string{"-app", "slow-jobs", "-image", "nginx", "-timeout", "300ms", "nginx", "-g", "daemon off;"}, sandboxtest.Fast())
	if err == nil {
		t.Fatalf("a job past its timeout succeeded\n%s", out.String())
	}
	t.Log(err)
	list, lerr := c.Machines.List(ctx, "slow-jobs", &machines.ListParams{IncludeDeleted: true})
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(list) != 1 {
		t.Errorf("%d machines in slow-jobs, want the job's one", len(list))
	}
	for _, m := range list {
		if m.State == "started" || m.State == "starting" {
			t.Errorf("machine %s left %s\n%s", m.ID, m.State, out.String())
		}
	}
}
