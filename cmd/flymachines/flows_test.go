package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/sandbox/sandboxtest"
	"github.com/flymachines/flymachines-go/models"
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

// flymachinesCmd runs the command line in this process and returns its
// exit status, stdout and stderr.
func flymachinesCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr lockedBuilder
	code := dispatch(context.Background(), args, &stdout, &stderr)
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
	)
	if strings.Count(out, "destroyed:") != 1 {
		t.Errorf("want only the clean job destroyed:\n%s", out)
	}
}

func TestRunExitsWithTheMachinesCode(t *testing.T) {
	sandboxtest.FastEmulator(t)
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
	m, err := c.Machines.MachinesShowContext(ctx, machines.NewMachinesShowParams().WithAppName("cli-jobs").WithMachineID(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.GetPayload(); got.State != "stopped" || got.Config.Env["MODE"] != "batch" || got.Config.Restart.Policy != "no" {
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
	m, err := c.Machines.MachinesShowContext(context.Background(), machines.NewMachinesShowParams().WithAppName(app).WithMachineID(id), nil)
	if err != nil || m.GetPayload().State != "failed" {
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
	old := progressEvery
	progressEvery = 30 * time.Millisecond
	defer func() { progressEvery = old }()

	var stdout, stderr lockedBuilder
	done := make(chan int)
	go func() {
		done <- dispatch(ctx, []string{"run", "--app", "cli-int", "--image", "nginx"}, &stdout, &stderr)
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
	list, err := c.Machines.MachinesListContext(context.Background(), machines.NewMachinesListParams().WithAppName("cli-int"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range list.GetPayload() {
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
	old := progressEvery
	progressEvery = 20 * time.Millisecond
	defer func() { progressEvery = old }()

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

	code, _, errOut = flymachinesCmd(t, "machines", "get", "--app", "cli-list", "00000000000000")
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("get of a missing machine: exit %d, stderr %q", code, errOut)
	}

	// A wait that times out says what it saw, in one line.
	code, out, errOut = flymachinesCmd(t, "machines", "wait", "--app", "cli-list", web.ID, "--state", "stopped", "--timeout", "1s")
	if code != 1 || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "machine "+web.ID+" is not stopped after 1s (last seen: started)") {
		t.Errorf("timed-out wait: exit %d, stderr %q", code, errOut)
	}
	wantLines(t, out, `still waiting for machine `+web.ID+` to be stopped \(state started, \d+s\)`)
}

func TestMachinesNeedAToken(t *testing.T) {
	sandboxtest.NoToken(t)
	code, _, errOut := flymachinesCmd(t, "machines", "list", "--app", "x")
	if code != 1 || !strings.Contains(errOut, "no API token: set FLY_API_TOKEN") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	sandboxtest.NoToken(t)
	for _, args := range [][]string{
		{"demo", "--help"}, {"run", "--help"}, {"run", "-h"}, {"machines", "--help"},
		{"machines", "list", "--help"}, {"machines", "get", "-h"}, {"machines", "wait", "--help"},
	} {
		code, out, errOut := flymachinesCmd(t, args...)
		if code != 0 || !strings.HasPrefix(out, "usage: flymachines ") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
		if args[0] != "machines" || len(args) > 2 {
			if !strings.Contains(out, "examples:\n") {
				t.Errorf("%q: help without examples:\n%s", args, out)
			}
		}
	}
	for _, args := range [][]string{
		{"run"},                            // no --image
		{"run", "--image", "a", "--bogus"}, // unknown flag
		{"run", "--image", "a", "extra"},   // stray argument
		{"run", "--image", "a", "--cmd", "x", "--arg", "y"},
		{"run", "--image", "a", "--cmd", "sh -c 'open"},
		{"run", "--image", "a", "--env", "NOVALUE"},
		{"demo", "extra"},
		{"machines"},
		{"machines", "nope"},
		{"machines", "list"},                        // no --app
		{"machines", "get", "--app", "a"},           // no id
		{"machines", "get", "--app", "a", "x", "y"}, // two ids
		{"machines", "wait", "--app", "a", "x", "--state", "running"},
		{"machines", "wait", "--app", "a", "x", "--timeout", "0s"},
	} {
		code, out, errOut := flymachinesCmd(t, args...)
		if code != 2 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "flymachines ") {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want 2 and one line", args, code, errOut, out)
		}
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
