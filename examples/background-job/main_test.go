package main

import (
	"bytes"
	"context"
	"errors"
	"github.com/flymachines/flymachines-go/internal/sandbox"
	"regexp"
	"strings"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/sandbox/sandboxtest"
	"github.com/flymachines/flymachines-go/models"
)

func TestCleanJobIsDestroyed(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-cmd", "sh -c 'echo hello; exit 0'"}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"embedded Machines API emulator",
		"running sh -c 'echo hello; exit 0' on a new machine from alpine:3.20",
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
	sandboxtest.FastEmulator(t)
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-cmd", "sh -c 'exit 3'", "-region", "syd"})
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
	if err := run(ctx, &out, nil); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Using the Fly Machines API at") {
		t.Errorf("not on the API:\n%s", out.String())
	}
	app := regexp.MustCompile(`app (background-job-\w+)`).FindStringSubmatch(out.String())
	if app == nil {
		t.Fatalf("no app in the output:\n%s", out.String())
	}
	if _, err := c.Apps.AppsShowContext(ctx, apps.NewAppsShowParams().WithAppName(app[1]), nil); !errors.Is(err, flymachines.ErrNotFound) {
		t.Errorf("the throwaway app %s is still there after a clean job (err %v)", app[1], err)
	}

	out.Reset()
	if err := run(ctx, &out, []string{"-cmd", "sh -c 'exit 7'"}); err == nil {
		t.Fatal("a failed job succeeded")
	}
	kept := regexp.MustCompile(`fly machine status (\w+) -a (\S+)`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("no kept machine in the output:\n%s", out.String())
	}
	id, keptApp := kept[1], kept[2]
	m, err := c.Machines.MachinesShowContext(ctx, machines.NewMachinesShowParams().WithAppName(keptApp).WithMachineID(id), nil)
	if err != nil {
		t.Fatalf("the failed job's machine is gone: %v", err)
	}
	if m.GetPayload().State != flymachines.StateStopped {
		t.Errorf("the kept machine is %s, want stopped", m.GetPayload().State)
	}
	if !strings.Contains(out.String(), "fly apps destroy "+keptApp) {
		t.Errorf("no word on deleting the kept app:\n%s", out.String())
	}
}

func TestUsage(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-bogus"}); err != sandbox.ErrUsage {
		t.Errorf("bad flag: err = %v", err)
	}
	if err := run(context.Background(), &out, []string{"-cmd", "sh -c 'unterminated"}); err == nil {
		t.Error("an unterminated quote ran")
	}
}

func TestMachineThatCannotStartIsKept(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast(), flytest.WithImageBehavior("broken:1", flytest.FailToStart("exec format error")))
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-image", "broken:1"})
	if !errors.Is(err, flymachines.ErrMachineFailed) {
		t.Fatalf("err = %v, want ErrMachineFailed\n%s", err, out.String())
	}
	kept := regexp.MustCompile(`failed to start; kept: fly machine status (\w+) -a (\S+)`).FindStringSubmatch(out.String())
	if kept == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	m, err := c.Machines.MachinesShowContext(context.Background(), machines.NewMachinesShowParams().WithAppName(kept[2]).WithMachineID(kept[1]), nil)
	if err != nil || m.GetPayload().State != "failed" {
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
	err := run(ctx, &out, []string{"-app", "slow-jobs", "-image", "nginx", "-cmd", "nginx -g 'daemon off;'", "-timeout", "300ms"})
	if err == nil {
		t.Fatalf("a job past its timeout succeeded\n%s", out.String())
	}
	t.Log(err)
	list, lerr := c.Machines.MachinesListContext(ctx, machines.NewMachinesListParams().WithAppName("slow-jobs"), nil)
	if lerr != nil {
		t.Fatal(lerr)
	}
	for _, m := range list.GetPayload() {
		if m.State == "started" || m.State == "starting" {
			t.Errorf("machine %s left %s\n%s", m.ID, m.State, out.String())
		}
	}
}
