package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

func TestEmulatorCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	cl, _, stderr := testCLI()
	cl.stdout = outW
	done := make(chan int, 1)
	go func() {
		done <- cl.dispatch(ctx, []string{"emulator", "-addr", "127.0.0.1:0", "--tokens", "tok-a, tok-b", "--transition-delay", "1ms", "--rate-limits"})
		outW.Close()
	}()

	// The banner names the address to export.
	var base string
	sc := bufio.NewScanner(outR)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export FLY_API_HOSTNAME="); ok {
			base = v
		}
		if strings.Contains(sc.Text(), "export FLY_API_TOKEN=tok-a") {
			break
		}
	}
	if base == "" {
		t.Fatalf("no FLY_API_HOSTNAME in the banner; stderr: %s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()

	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/apps?org_slug=personal", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("tok-b"); code != 200 {
		t.Errorf("accepted token: %d", code)
	}
	if code := get("other"); code != 401 {
		t.Errorf("token outside --tokens: %d", code)
	}

	cancel() // as SIGINT would
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not shut down")
	}
}

func TestDispatch(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"help"}, 0},
		{[]string{"nope"}, 2},
		{[]string{"emulator", "-h"}, 0},
		{[]string{"emulator", "-bogus"}, 2},
		{[]string{"emulator", "extra"}, 2},
		{[]string{"emulator", "-addr", "not an address"}, 1},
	}
	for _, tc := range cases {
		code, out, errOut := flymachinesCmd(t, tc.args...)
		if code != tc.want {
			t.Errorf("%q: exit %d, want %d; stderr: %s", tc.args, code, tc.want, errOut)
		}
		if code == 0 && (errOut != "" || out == "") || code != 0 && (out != "" || strings.Count(errOut, "\n") != 1) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q: want help on stdout, or one line on stderr", tc.args, code, out, errOut)
		}
	}
}

// TestEmulatorBannerAndJobs: the banner's export lines work as pasted (the
// client takes the token, the emulator accepts it), and the standalone
// emulator runs a Machine's command and exits it, as the embedded one in
// demo and run does, so `flymachines run` ends against it too.
func TestEmulatorBannerAndJobs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	cl, _, stderr := testCLI()
	cl.stdout = outW
	done := make(chan int, 1)
	go func() {
		done <- cl.dispatch(ctx, []string{"emulator", "-addr", "127.0.0.1:0", "-transition-delay", "1ms", "-job-runtime", "20ms"})
		outW.Close()
	}()
	exports := map[string]string{}
	sc := bufio.NewScanner(outR)
	for len(exports) < 2 && sc.Scan() {
		if kv, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			exports[k] = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()
	token := exports["FLY_API_TOKEN"]
	if exports["FLY_API_HOSTNAME"] == "" || token == "" || strings.ContainsAny(token, "<> '\"") {
		t.Fatalf("banner exports %v: want a hostname and a token a shell takes as is; stderr: %s", exports, stderr.String())
	}
	t.Setenv("FLY_API_HOSTNAME", exports["FLY_API_HOSTNAME"])
	t.Setenv("FLY_API_TOKEN", token)
	c, err := flymachines.New()
	if err != nil {
		t.Fatalf("the client refuses the banner's token: %v", err)
	}
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: "banner-app", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	cfg := &models.FlyMachineConfig{Image: "alpine", Init: &models.FlyMachineInit{Cmd: []string{"sh", "-c", "exit 3"}}}
	jobCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	res, err := c.RunJob(jobCtx, "banner-app", &models.CreateMachineRequest{Config: cfg})
	if err != nil {
		t.Fatalf("a job on the standalone emulator: %v", err)
	}
	if res.Exit == nil || res.Exit.ExitCode != 3 {
		t.Errorf("exit %+v, want code 3", res.Exit)
	}
	cancel()
	<-done
}
