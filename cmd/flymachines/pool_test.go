package main

import (
	"context"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/pool"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestPoolCommands(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "cli-pool", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	poolArgs := []string{"--app", "cli-pool", "--name", "workers"}
	cmd := func(verb string, args ...string) (int, string, string) {
		t.Helper()
		return flymachinesCmd(t, append(append([]string{"pool", verb}, poolArgs...), args...)...)
	}

	// A job that fails: its code is the command's.
	code, out, errOut := cmd("run", "--image", "alpine:3.20", "--cmd", "sh -c 'exit 3'")
	if code != 3 || errOut != "" {
		t.Fatalf("run: exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantLines(t, out, `^pool workers in app cli-pool \(generation [0-9a-f]{10}, at most 4 machines\): running sh -c 'exit 3'`,
		`✓ booted machine [0-9a-f]{14} in ord`, `✗ exited with code 3 +\S+; the machine is back in the pool`)
	// The next job reuses the Machine.
	code, out, errOut = cmd("run", "--image", "alpine:3.20", "--arg", "echo", "--arg", "hi", "--env", "MODE=batch")
	if code != 0 || errOut != "" {
		t.Fatalf("run: exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantLines(t, out, `✓ exited with code 0`)
	list, err := c.Machines.List(ctx, "cli-pool", &machines.ListParams{Metadata: map[string]string{pool.KeyPool: "workers"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Config.Env["MODE"] != "batch" || list[0].State != "stopped" {
		t.Fatalf("pool machines: %+v", list)
	}
	id := list[0].ID

	code, out, errOut = cmd("status", "--image", "alpine:3.20")
	if code != 0 || errOut != "" {
		t.Fatalf("status: exit %d, stderr %q", code, errOut)
	}
	wantLines(t, out, `^pool workers in app cli-pool: 1 machine, 1 free, 0 busy \(1 stopped\)`,
		`ID +STATE +REGION +GENERATION +HELD BY +IDLE SINCE`, id+` +stopped +ord +[0-9a-f]{10}\* +- +20\d\d-`)
	code, out, _ = cmd("status")
	if code != 0 || strings.Contains(out, "*") || !strings.Contains(out, id) {
		t.Errorf("status without the config marks a generation current, or lacks the machine:\n%s", out)
	}

	code, out, errOut = cmd("drain")
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "drained pool workers in app cli-pool: 1 machine destroyed in ") {
		t.Fatalf("drain: exit %d, stderr %q\n%s", code, errOut, out)
	}
	code, out, _ = cmd("status")
	if code != 0 || out != "pool workers in app cli-pool has no machines\n" {
		t.Errorf("status after drain: exit %d\n%s", code, out)
	}

	// Errors: one line, led by the command's full name.
	code, _, errOut = flymachinesCmd(t, "pool", "run", "--app", "no-such-app", "--name", "w", "--image", "alpine")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "flymachines pool run: ") ||
		strings.Count(errOut, "flymachines") != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("run in a missing app: exit %d, stderr %q", code, errOut)
	}
}

func TestPoolHelpAndUsageErrors(t *testing.T) {
	sandboxtest.NoToken(t)
	t.Setenv("FLY_APP", "")
	for _, args := range [][]string{{"pool", "-h"}, {"pool", "help"}, {"pool", "run", "-h"}, {"pool", "status", "--help"}, {"pool", "drain", "-h"}} {
		code, out, errOut := flymachinesCmd(t, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: flymachines pool") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		if len(args) == 3 && !strings.Contains(out, "examples:\n") {
			t.Errorf("%q: help without examples:\n%s", args, out)
		}
	}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{[]string{"pool"}, "flymachines pool: missing command: run, status or drain"},
		{[]string{"pool", "nope"}, `flymachines pool: unknown command "nope"`},
		{[]string{"pool", "run"}, "flymachines pool run: --app is required"},
		{[]string{"pool", "run", "--app", "a"}, "flymachines pool run: --name is required"},
		{[]string{"pool", "run", "--app", "a", "--name", "n"}, "flymachines pool run: --image is required"},
		{[]string{"pool", "run", "--app", "a", "--name", "n", "--image", "i", "--max", "0"}, "flymachines pool run: --min 0 --max 0"},
		{[]string{"pool", "run", "--app", "a", "--name", "n", "--image", "i", "--memory", "100"}, "flymachines pool run: --memory 100"},
		{[]string{"pool", "run", "--app", "a", "--name", "n", "--image", "i", "--cmd", "x", "--arg", "y"}, "flymachines pool run: give the command"},
		{[]string{"pool", "run", "--app", "a", "--name", "n", "--image", "i", "extra"}, "flymachines pool run: unexpected argument"},
		{[]string{"pool", "status", "--app", "a"}, "flymachines pool status: --name is required"},
		{[]string{"pool", "status", "--app", "a", "--name", "n", "extra"}, "flymachines pool status: unexpected argument"},
		{[]string{"pool", "drain", "--app", "a", "--name", "n", "--timeout", "0s"}, "flymachines pool drain: --timeout must be positive"},
		{[]string{"pool", "drain", "--bogus"}, "flymachines pool drain: flag provided but not defined: -bogus"},
	} {
		code, out, errOut := flymachinesCmd(t, tc.args...)
		if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tc.prefix) || out != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and one line starting %q", tc.args, code, errOut, out, tc.prefix)
		}
	}
	// Without a token, one line says how to get one.
	code, _, errOut := flymachinesCmd(t, "pool", "status", "--app", "a", "--name", "n")
	if code != 1 || !strings.HasPrefix(errOut, "flymachines pool status: no API token") {
		t.Errorf("no token: exit %d, stderr %q", code, errOut)
	}
}
