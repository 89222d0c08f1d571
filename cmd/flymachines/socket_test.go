package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// TestEmulatorServesTheMachineSocket: `flymachines emulator --socket`
// serves a Machine's API socket end to end: a client on
// unix://... with no token at all suspends and resumes a Machine (as a
// program on a Fly Machine does with /.fly/api), while a request that is
// not about a Machine is refused without one.
func TestEmulatorServesTheMachineSocket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A relative path, as typed at a prompt: the banner gives the
	// absolute one (unix://api.sock would be a host, and refused).
	dir := t.TempDir()
	t.Chdir(dir)
	sock := filepath.Join(dir, "api.sock")
	outR, outW := io.Pipe()
	cl, _, stderr := testCLI()
	cl.stdout = outW
	done := make(chan int, 1)
	go func() {
		done <- cl.dispatch(ctx, []string{"emulator", "-addr", "127.0.0.1:0", "--socket", "api.sock", "--transition-delay", "1ms"})
		outW.Close()
	}()
	var base, token, sockURL string
	sc := bufio.NewScanner(outR)
	for sc.Scan() && sockURL == "" {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "export FLY_API_HOSTNAME="); ok {
			if strings.HasPrefix(v, "unix://") {
				sockURL = v
			} else {
				base = v
			}
		}
		if v, ok := strings.CutPrefix(line, "export FLY_API_TOKEN="); ok {
			token = v
		}
	}
	if base == "" || sockURL != "unix://"+sock {
		t.Fatalf("banner: base %q, socket %q; stderr: %s", base, sockURL, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, outR) }()

	// Set up over TCP with a token, as a deploy would.
	admin, err := flymachines.New(flymachines.WithBaseURL(base), flymachines.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Apps.Create(ctx, &models.CreateAppRequest{Name: "on-machine", OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	m, err := admin.CreateMachine(ctx, "on-machine", &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "img"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WaitStarted(ctx, "on-machine", m.ID); err != nil {
		t.Fatal(err)
	}

	// On the Machine: no token anywhere.
	t.Setenv(flymachines.EnvAPIToken, "")
	t.Setenv(flymachines.EnvAccessToken, "")
	self, err := flymachines.New(flymachines.WithBaseURL(sockURL))
	if err != nil {
		t.Fatalf("a socket client needs no token: %v", err)
	}
	if err := self.Machines.Suspend(ctx, "on-machine", m.ID, nil); err != nil {
		t.Fatalf("suspend over the socket: %v", err)
	}
	if _, err := self.WaitForState(ctx, "on-machine", m.ID, []string{flymachines.StateSuspended}); err != nil {
		t.Fatalf("wait over the socket: %v", err)
	}
	if _, err := self.Apps.Show(ctx, "on-machine"); !errors.Is(err, flymachines.ErrUnauthorized) {
		t.Errorf("an app request over the socket without a token: %v, want ErrUnauthorized", err)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulator did not shut down")
	}
}
