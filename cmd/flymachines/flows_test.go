package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

// lockedBuilder is a strings.Builder that progress lines may write to from
// their own goroutine.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testCLI is the command line as main makes it, but quick (the emulators
// of sandboxtest.Fast) and printing to buffers.
func testCLI() (*cli, *lockedBuilder, *lockedBuilder) {
	var stdout, stderr lockedBuilder
	return &cli{stdout: &stdout, stderr: &stderr, sandbox: sandboxtest.Fast(), progressEvery: 5 * time.Second}, &stdout, &stderr
}

// flymachinesCmd runs the command line in this process and returns its
// exit status, stdout and stderr.
func flymachinesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return flymachinesCmdEvery(t, 5*time.Second, args...)
}

// flymachinesCmdEvery is flymachinesCmd with a progress line every every.
func flymachinesCmdEvery(t *testing.T, every time.Duration, args ...string) (int, string, string) {
	t.Helper()
	cl, stdout, stderr := testCLI()
	cl.progressEvery = every
	code := cl.dispatch(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

func wantLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(out) {
			t.Errorf("output lacks %q:\n%s", p, out)
		}
	}
}

func TestDemo(t *testing.T) {
	sandboxtest.NoToken(t)
	t.Setenv(flymachines.EnvAPIToken, "fo1_set-but-unused") // the demo never uses it
	begin := time.Now()
	code, out, errOut := flymachinesCmd(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s\n%s", code, errOut, out)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("the demo took %s", took)
	}
	wantLines(t, out,
		`FLY_API_TOKEN is set, but the demo always uses the emulator`,
		`endpoint  http://127\.0\.0\.1:\d+ \(embedded emulator\)`,
		`Job 1, a job that succeeds: sh -c 'echo "hello from a Machine"; exit 0'`,
		`(?s)Job 1.*✓ created machine \w{14} in ord +\d+ms.*✓ started +\d+ms.*✓ exited with code 0 +\d+ms.*✓ destroyed: a clean exit leaves nothing behind +\d+ms.*total +\d+ms`,
		`(?s)Job 2.*✗ exited with code 3 +\d+ms\n  • kept \(stopped\) for a look at its logs`,
		`go run ./examples/background-job`,
		`go install ./cmd/flymachines\n  flymachines run --image alpine --cmd "sh -c 'exit 3'"; echo \$\?\n.*prints 3`,
	)
	if strings.Contains(out, "go run ./cmd/flymachines run") {
		t.Errorf("the demo shows go run for an exit status, which go run replaces:\n%s", out)
	}
	if strings.Count(out, "destroyed:") != 1 {
		t.Errorf("want only the clean job destroyed:\n%s", out)
	}
}

func TestRunExitsWithTheMachinesCode(t *testing.T) {
	sandboxtest.NoToken(t)
	code, out, errOut := flymachinesCmd(t, "run", "--image", "alpine", "--cmd", "sh -c 'exit 3'", "--region", "ams")
	if code != 3 {
		t.Fatalf("exit %d, want 3; stderr: %s\n%s", code, errOut, out)
	}
	if errOut != "" {
		t.Errorf("a job's failure is not an error of flymachines, stderr: %s", errOut)
	}
	wantLines(t, out, `embedded Machines API emulator`, `region ams`, `running sh -c 'exit 3' on a new machine from alpine`,
		`✗ exited with code 3`, `kept machine \w+, stopped, for inspection`)

	code, out, _ = flymachinesCmd(t, "run", "--image", "alpine", "--arg", "sh", "--arg", "-c", "--arg", "echo ok",
		"--env", "A=1", "--env", "B=x=y", "--cpus", "2", "--memory", "512")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, out)
	}
	wantLines(t, out, `running sh -c 'echo ok'`, `✓ exited with code 0`, `✓ destroyed`)
}

func TestRunOnTheAPI(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "cli-jobs", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := flymachinesCmd(t, "run", "--app", "cli-jobs", "--image", "alpine", "--cmd", "sh -c 'exit 0'",
		"--env", "MODE=batch", "--keep")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s\n%s", code, errOut, out)
	}
	wantLines(t, out, `Fly Machines API at http://127`, `kept machine (\w+), stopped, \(--keep\)`, `fly machine destroy \w+ -a cli-jobs`)
	id := regexp.MustCompile(`kept machine (\w+)`).FindStringSubmatch(out)[1]
	got, err := c.Machines.Show(ctx, "cli-jobs", id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "stopped" || got.Config.Env["MODE"] != "batch" || got.Config.Restart.Policy != "no" {
		t.Errorf("kept machine: state %s env %v restart %+v", got.State, got.Config.Env, got.Config.Restart)
	}

	// --emulator ignores the token.
	code, out, _ = flymachinesCmd(t, "run", "--emulator", "--image", "alpine", "--cmd", "true")
	if code != 0 || !strings.Contains(out, "FLY_API_TOKEN is set but not used") {
		t.Errorf("--emulator: exit %d\n%s", code, out)
	}
}

// A Machine that cannot start is kept, and so is the throwaway app with it.
func TestRunMachineFailsToStart(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast(), flytest.WithImageBehavior("broken", flytest.FailToStart("no such binary")))
	code, out, errOut := flymachinesCmd(t, "run", "--image", "broken")
	if code != 1 || !strings.Contains(errOut, "failed to start; kept") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantLines(t, out, `✗ failed to start`)
	app := regexp.MustCompile(`app (flymachines-run-\w+)`).FindStringSubmatch(out)[1]
	id := regexp.MustCompile(`created machine (\w+)`).FindStringSubmatch(out)[1]
	m, err := c.Machines.Show(context.Background(), app, id, nil)
	if err != nil || m.State != "failed" {
		t.Errorf("the machine that failed to start: %v, %v", m, err)
	}
}

// A job that is interrupted leaves no Machine running.
func TestRunInterruptedDestroysTheMachine(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "cli-int", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	cl, stdout, stderr := testCLI()
	cl.progressEvery = 30 * time.Millisecond
	done := make(chan int)
	go func() {
		done <- cl.dispatch(ctx, []string{"run", "--app", "cli-int", "--image", "nginx"})
	}()
	deadline := time.After(5 * time.Second)
	for !strings.Contains(stdout.String(), "still waiting for machine") {
		select {
		case <-deadline:
			t.Fatalf("no progress line:\n%s", stdout.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel() // as Ctrl-C would
	if code := <-done; code != 1 || stderr.String() != "flymachines run: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, stderr.String())
	}
	wantLines(t, stdout.String(), `still waiting for machine \w+ to exit \(state started, \d+s\)`, `destroyed machine \w+, so that nothing is left running`)
	list, err := c.Machines.List(context.Background(), "cli-int", &machines.ListParams{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Errorf("%d machines in cli-int, want the job's one", len(list))
	}
	for _, m := range list {
		if m.State == "started" || m.State == "starting" {
			t.Errorf("machine %s left %s", m.ID, m.State)
		}
	}
}

func TestMachinesCommands(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "cli-list", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	create := func(role string) *models.Machine {
		m, err := c.CreateMachine(ctx, "cli-list", &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
			Image: "nginx:1.27", Metadata: map[string]string{"role": role}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	web, worker := create("web"), create("worker")
	flymachinesCmd := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		return flymachinesCmdEvery(t, 20*time.Millisecond, args...)
	}

	// wait, with progress while the Machine boots.
	code, out, errOut := flymachinesCmd(t, "machines", "wait", web.ID, "--app", "cli-list", "--state", "started")
	if code != 0 {
		t.Fatalf("wait: exit %d: %s", code, errOut)
	}
	wantLines(t, out, `machine `+web.ID+` is started \(waited \d+ms\)`)

	code, out, errOut = flymachinesCmd(t, "machines", "list", "--app", "cli-list")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	wantLines(t, out, `ID +NAME +STATE +REGION +IMAGE +UPDATED`, web.ID+` +\S+ +\w+ +ord +nginx:1\.27`, worker.ID)

	code, out, _ = flymachinesCmd(t, "machines", "list", "--app", "cli-list", "--metadata", "role=worker")
	if code != 0 || !strings.Contains(out, worker.ID) || strings.Contains(out, web.ID) {
		t.Errorf("list by metadata: exit %d\n%s", code, out)
	}
	code, out, _ = flymachinesCmd(t, "machines", "list", "--app", "cli-list", "--metadata", "role=nobody")
	if code != 0 || !strings.Contains(out, "no machines in app cli-list") {
		t.Errorf("empty list: exit %d\n%s", code, out)
	}

	code, out, errOut = flymachinesCmd(t, "machines", "get", "--app", "cli-list", worker.ID)
	if code != 0 {
		t.Fatalf("get: exit %d: %s", code, errOut)
	}
	var got models.Machine
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != worker.ID || got.Config.Metadata["role"] != "worker" {
		t.Errorf("get: %v, %+v\n%s", err, got, out)
	}
	if !strings.Contains(out, "\n  \"id\": ") {
		t.Errorf("get: not indented JSON:\n%s", out)
	}
	// The emulator sends nulls as Fly does (incomplete_config, ...): get
	// leaves them out.
	if strings.Contains(out, "null") {
		t.Errorf("get printed nulls:\n%s", out)
	}

	// Errors: one line, led by the command's full name, said once.
	code, _, errOut = flymachinesCmd(t, "machines", "get", "--app", "cli-list", "00000000000000")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "flymachines machines get: Machines_show: HTTP 404") ||
		strings.Count(errOut, "flymachines") != 1 {
		t.Errorf("get of a missing machine: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = flymachinesCmd(t, "machines", "wait", "--app", "no-such-app", "00000000000000", "--timeout", "5s")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "flymachines machines wait: waiting for machine ") ||
		strings.Count(errOut, "flymachines") != 1 || !strings.Contains(errOut, "Machines_wait: HTTP 404") {
		t.Errorf("wait in a missing app: exit %d, stderr %q", code, errOut)
	}

	// A wait that times out says what it saw, in one line.
	code, out, errOut = flymachinesCmd(t, "machines", "wait", "--app", "cli-list", web.ID, "--state", "stopped", "--timeout", "1s")
	if code != 1 || errOut != "flymachines machines wait: machine "+web.ID+" is not stopped after 1s (last seen: started)\n" {
		t.Errorf("timed-out wait: exit %d, stderr %q", code, errOut)
	}
	wantLines(t, out, `still waiting for machine `+web.ID+` to be stopped \(state started, \d+s\)`)
}

func TestMachinesNeedAToken(t *testing.T) {
	sandboxtest.NoToken(t)
	code, _, errOut := flymachinesCmd(t, "machines", "list", "--app", "x")
	if code != 1 || !strings.HasPrefix(errOut, "flymachines machines list: no API token: set FLY_API_TOKEN") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// Help, when asked for, goes to stdout; a usage error is one line on
// stderr, led by the full name of the command.
func TestHelpAndUsageErrors(t *testing.T) {
	sandboxtest.NoToken(t)
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"}, {"machines", "--help"}, {"machines", "help"},
		{"demo", "--help"}, {"run", "--help"}, {"run", "-h"}, {"emulator", "-h"},
		{"machines", "list", "--help"}, {"machines", "get", "-h"}, {"machines", "wait", "--help"},
	} {
		code, out, errOut := flymachinesCmd(t, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: flymachines ") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		group := len(args) == 1 && isHelp(args[0]) || args[0] == "machines" && isHelp(args[1])
		if !group && !strings.Contains(out, "examples:\n") {
			t.Errorf("%q: help without examples:\n%s", args, out)
		}
	}
	for _, tc := range []struct {
		args   []string
		prefix string
	}{
		{nil, "flymachines: missing command: demo, run, machines, pool or emulator"},
		{[]string{"nope"}, `flymachines: unknown command "nope"`},
		{[]string{"run"}, "flymachines run: --image is required"},
		{[]string{"run", "--image", "a", "--bogus"}, "flymachines run: flag provided but not defined: -bogus"},
		{[]string{"run", "--image", "a", "extra"}, "flymachines run: unexpected argument"},
		{[]string{"run", "--image", "a", "--cmd", "x", "--arg", "y"}, "flymachines run: "},
		{[]string{"run", "--image", "a", "--cmd", "sh -c 'open"}, "flymachines run: --cmd: "},
		{[]string{"run", "--image", "a", "--env", "NOVALUE"}, "flymachines run: "},
		{[]string{"run", "--image", "a", "--memory", "300"}, "flymachines run: --memory 300: want a multiple of 256 MB"},
		{[]string{"run", "--image", "a", "--memory", "0"}, "flymachines run: --memory 0: want a multiple of 256 MB"},
		{[]string{"run", "--image", "a", "--cpus", "0"}, "flymachines run: --cpus must be at least 1"},
		{[]string{"demo", "extra"}, "flymachines demo: unexpected argument"},
		{[]string{"emulator", "--bogus"}, "flymachines emulator: flag provided but not defined: -bogus (see 'flymachines emulator -h')"},
		{[]string{"emulator", "extra"}, "flymachines emulator: unexpected argument"},
		{[]string{"machines"}, "flymachines machines: missing command: list, get or wait"},
		{[]string{"machines", "nope"}, `flymachines machines: unknown command "nope"`},
		{[]string{"machines", "list"}, "flymachines machines list: --app is required"},
		{[]string{"machines", "list", "--app", "a", "--bogus"}, "flymachines machines list: flag provided but not defined"},
		{[]string{"machines", "get", "--app", "a"}, "flymachines machines get: want one machine id"},
		{[]string{"machines", "get", "--app", "a", "x", "y"}, "flymachines machines get: want one machine id"},
		{[]string{"machines", "wait", "--app", "a", "x", "--state", "running"}, `flymachines machines wait: unknown state "running"`},
		{[]string{"machines", "wait", "--app", "a", "x", "--timeout", "0s"}, "flymachines machines wait: --timeout must be positive"},
	} {
		code, out, errOut := flymachinesCmd(t, tc.args...)
		if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, tc.prefix) || out != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and one line starting %q", tc.args, code, errOut, out, tc.prefix)
		}
	}
}

// --memory is checked before anything is created: no throwaway app is
// made and deleted for a Machine the API would refuse.
func TestRunChecksMemoryFirst(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	code, out, errOut := flymachinesCmd(t, "run", "--image", "alpine", "--memory", "300", "--cmd", "true")
	if code != 2 || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	list, err := c.Apps.List(context.Background(), "personal", nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalApps != 0 || len(list.Apps) != 0 {
		t.Errorf("apps were created: %+v", list)
	}
}

// An error of the library reads once, after the command's name: the
// "flymachines: " its errors start with, and wrap into one another, goes,
// and so do line breaks.
func TestErrorLine(t *testing.T) {
	inner := errors.New("flymachines: Machines_wait: HTTP 404: app not found\nsecond line\r\n  third")
	err := fmt.Errorf("flymachines: waiting for machine x: %w", inner)
	if got, want := errorLine(err), "waiting for machine x: Machines_wait: HTTP 404: app not found second line third"; got != want {
		t.Errorf("errorLine = %q, want %q", got, want)
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		app, pos string
	}{
		{[]string{"--app", "a", "id1"}, "a", "id1"},
		{[]string{"id1", "--app", "a"}, "a", "id1"},
		{[]string{"--app", "a", "--", "-id"}, "a", "-id"},
	} {
		var out, errOut strings.Builder
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		app := fs.String("app", "", "")
		rest, err := parseFlags(fs, tc.args, &out, &errOut, func(io.Writer) {})
		if err != nil || *app != tc.app || len(rest) != 1 || rest[0] != tc.pos {
			t.Errorf("%q: app %q rest %q err %v", tc.args, *app, rest, err)
		}
	}
}

func TestProcessExitCode(t *testing.T) {
	for _, tc := range []struct {
		st   flymachines.ExitStatus
		want int
	}{
		{flymachines.ExitStatus{ExitCode: 0}, 0},
		{flymachines.ExitStatus{ExitCode: 3}, 3},
		{flymachines.ExitStatus{ExitCode: 137, OOMKilled: true}, 137},
		{flymachines.ExitStatus{ExitCode: 0, Signal: 15}, 1},
		{flymachines.ExitStatus{ExitCode: 300}, 1},
		{flymachines.ExitStatus{ExitCode: -1}, 1},
	} {
		if got := processExitCode(&tc.st); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.st, got, tc.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 61 * time.Millisecond: "61ms", 1234567 * time.Microsecond: "1.235s", 12345 * time.Millisecond: "12.3s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
