package flytest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

func (en *env) exec(id string, body *models.MachineExecRequest) (*models.Flydv1ExecResponse, error) {
	return en.c.Machines.Exec(en.ctx, testApp, id, body)
}

func TestExecDefault(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	cases := []struct {
		name       string
		body       *models.MachineExecRequest
		wantCode   int
		wantStdout string
	}{
		{"command array", &models.MachineExecRequest{Command: []string{"echo", "hello", "world"}}, 200, "echo hello world\n"},
		{"deprecated cmd string", &models.MachineExecRequest{Cmd: "ls -la /data"}, 200, "ls -la /data\n"},
		{"no command", &models.MachineExecRequest{}, 400, ""},
		{"container and machine", &models.MachineExecRequest{Command: []string{"true"}, Container: "app", Machine: true}, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := en.exec(m.ID, tc.body)
			if codeOf(err) != tc.wantCode {
				t.Fatalf("status %d, want %d (%v)", codeOf(err), tc.wantCode, err)
			}
			if err == nil && (res.Stdout != tc.wantStdout || res.ExitCode != 0) {
				t.Errorf("got %+v", res)
			}
		})
	}
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	if _, err := en.exec(m.ID, &models.MachineExecRequest{Command: []string{"true"}}); codeOf(err) != 412 {
		t.Errorf("exec on a stopped machine: %v, want 412", err)
	}
}

func TestExecHandler(t *testing.T) {
	en := newEnv(t, WithExecHandler(func(ctx context.Context, req ExecRequest) *models.Flydv1ExecResponse {
		switch req.Command[0] {
		case "cat":
			return &models.Flydv1ExecResponse{Stdout: req.Stdin}
		case "false":
			return &models.Flydv1ExecResponse{ExitCode: 1, Stderr: req.Image + ": failed\n"}
		case "sleep":
			<-ctx.Done()
		}
		return nil
	}))
	m := en.started("alpine")
	if res, err := en.exec(m.ID, &models.MachineExecRequest{Command: []string{"cat"}, Stdin: "piped"}); err != nil || res.Stdout != "piped" {
		t.Errorf("cat: %+v %v", res, err)
	}
	if res, err := en.exec(m.ID, &models.MachineExecRequest{Command: []string{"false"}}); err != nil || res.ExitCode != 1 || res.Stderr != "alpine: failed\n" {
		t.Errorf("false: %+v %v", res, err)
	}
	if res, err := en.exec(m.ID, &models.MachineExecRequest{Command: []string{"true"}}); err != nil || res.ExitCode != 0 {
		t.Errorf("nil result: %+v %v", res, err)
	}
	start := time.Now()
	_, err := en.exec(m.ID, &models.MachineExecRequest{Command: []string{"sleep"}, Timeout: 1})
	if codeOf(err) != 408 || !strings.HasPrefix(errorText(err), "deadline_exceeded") || time.Since(start) > 3*time.Second {
		t.Errorf("timed out exec: %v after %s", err, time.Since(start))
	}
}

func TestProcesses(t *testing.T) {
	en := newEnv(t)
	req := createBody("nginx:1.27")
	req.Config.Services = []*models.FlyMachineService{{InternalPort: 8080, Protocol: "tcp"}}
	m := en.create(req)
	en.waitFor(m.ID, stateStarted)
	ps := func(sortBy, order string) ([]*models.ProcessStat, error) {
		return en.c.Machines.ListProcesses(en.ctx, testApp, m.ID, &machines.ListProcessesParams{SortBy: sortBy, Order: order})
	}
	list, err := ps("", "")
	if err != nil {
		t.Fatal(errText(err))
	}
	if len(list) != 3 || list[0].Pid != 1 || list[2].Command != "/usr/local/bin/nginx" || list[2].ListenSockets[0].Address != "0.0.0.0:8080" {
		t.Errorf("ps: %+v", list)
	}
	byRSS, err := ps("rss", "desc")
	if err != nil || byRSS[0].Rss < byRSS[1].Rss {
		t.Errorf("ps by rss desc: %v", err)
	}
	if _, err := ps("name", ""); codeOf(err) != 400 {
		t.Errorf("unknown sort_by: %v", err)
	}
}

func TestMemory(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx") // 256 MB guest, a quarter in use
	ms, ctx := en.c.Machines, en.ctx
	get, err := ms.GetMemory(ctx, testApp, m.ID)
	if err != nil || get.LimitMb != 256 || get.AvailableMb != 192 {
		t.Fatalf("memory: %+v %v", get, err)
	}
	set, err := ms.SetMemoryLimit(ctx, testApp, m.ID, &models.MainSetMemoryLimitRequest{LimitMb: 128})
	if err != nil || set.LimitMb != 128 || set.AvailableMb != 64 {
		t.Fatalf("set limit: %+v %v", set, err)
	}
	if _, err := ms.SetMemoryLimit(ctx, testApp, m.ID, &models.MainSetMemoryLimitRequest{LimitMb: 512}); codeOf(err) != 400 {
		t.Errorf("limit above the guest: %v", err)
	}
	rec, err := ms.ReclaimMemory(ctx, testApp, m.ID, &models.MainReclaimMemoryRequest{AmountMb: 100})
	if err != nil || rec.ActualMb != 64 {
		t.Fatalf("reclaim: %+v %v", rec, err)
	}
	get, err = ms.GetMemory(ctx, testApp, m.ID)
	if err != nil || get.AvailableMb != 0 {
		t.Errorf("after reclaim: %+v %v", get, err)
	}
	// A new boot gets the whole guest back (restart answers once stopping).
	if _, err := en.do(m.ID, "restart"); err != nil {
		t.Fatal(err)
	}
	en.waitFor(m.ID, stateStarted)
	get, err = ms.GetMemory(ctx, testApp, m.ID)
	if err != nil || get.LimitMb != 256 {
		t.Errorf("after restart: %+v %v", get, err)
	}
}
