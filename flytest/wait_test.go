package flytest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

func (en *env) wait(id string, p *machines.WaitParams, opts ...call.Option) (*models.WaitMachineResponse, error) {
	return en.c.Machines.Wait(en.ctx, testApp, id, p, opts...)
}

// waitParams waits up to 5s for any of states.
func waitParams(states ...string) *machines.WaitParams {
	return &machines.WaitParams{State: states, Timeout: 5}
}

// waitVersion waits up to timeout seconds for version to reach any of states.
func waitVersion(version string, timeout int64, states ...string) *machines.WaitParams {
	return &machines.WaitParams{State: states, Timeout: timeout, Version: version}
}

func TestWaitValidation(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	v := m.Version
	cases := []struct {
		name    string
		p       *machines.WaitParams
		opts    []call.Option
		wantErr string
	}{
		// WaitParams leaves a zero timeout out: send it by hand.
		{"timeout zero", &machines.WaitParams{}, []call.Option{call.WithQuery("timeout", "0")}, "timeout"},
		{"timeout above 60", &machines.WaitParams{Timeout: 61}, nil, "timeout"},
		{"unknown state", waitParams("sleeping"), nil, "state \"sleeping\""},
		{"unknown version", waitVersion("01ARZ3NDEKTSV4RRFFQ69G5FAV", 5, "started"), nil, "has no version"},
		{"version and instance_id disagree", &machines.WaitParams{State: []string{"started"}, Timeout: 5, Version: v, InstanceID: "other"}, nil, "disagree"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := en.wait(m.ID, tc.p, tc.opts...)
			b := errorBody(err)
			if codeOf(err) != 400 || b == nil {
				t.Fatalf("got %v, want 400 with an error body", err)
			}
			if !strings.HasPrefix(b.Error, "invalid_argument: ") || !strings.Contains(b.Error, tc.wantErr) {
				t.Errorf("error %q, want it to mention %q", b.Error, tc.wantErr)
			}
		})
	}
	if res := rawGet(t, en.srv, "/v1/apps/"+testApp+"/machines/"+m.ID+"/wait?timeout=abc"); res.StatusCode != 400 {
		t.Errorf("timeout=abc: %d", res.StatusCode)
	}
	if _, err := en.wait("00000000000000", waitParams()); codeOf(err) != 404 {
		t.Errorf("unknown machine: %v", err)
	}
}

// TestWaitWithoutVersion: flyctl waits for stopped, suspended and
// destroyed without a version or instance_id (machine stop, suspend,
// ephemeral runs), also for several states at once; the wait is then on the
// Machine's current state.
func TestWaitWithoutVersion(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	if res, err := en.wait(m.ID, waitParams("started", "suspended")); err != nil || res.State != stateStarted {
		t.Fatalf("started or suspended, on a started Machine: %+v, %v", res, errText(err))
	}
	errc := make(chan error, 1)
	go func() {
		res, err := en.wait(m.ID, waitParams("stopped"))
		if err == nil && res.State != stateStopped {
			err = fmt.Errorf("answered state %s", res.State)
		}
		errc <- err
	}()
	for waiters(en) == 0 {
		time.Sleep(time.Millisecond)
	}
	en.stop(m.ID)
	if err := <-errc; err != nil {
		t.Fatalf("stopped, while the Machine stops: %v", errText(err))
	}
	if err := en.c.Machines.Delete(en.ctx, testApp, m.ID, nil); err != nil {
		t.Fatal(errText(err))
	}
	if res, err := en.wait(m.ID, waitParams("destroyed")); err != nil || res.State != stateDestroyed {
		t.Fatalf("destroyed: %+v, %v", res, errText(err))
	}
}

func TestWaitStates(t *testing.T) {
	en := newEnv(t)
	cases := []struct {
		name   string
		setup  func(t *testing.T, en *env) *models.Machine // returns the Machine as the wait should see it
		act    func(t *testing.T, en *env, id string)      // runs while the wait blocks
		params func(m *models.Machine) *machines.WaitParams
		want   string
	}{
		{
			name:   "default is started",
			setup:  func(t *testing.T, en *env) *models.Machine { return en.create(createBody("nginx")) },
			params: func(*models.Machine) *machines.WaitParams { return nil },
			want:   stateStarted,
		},
		{
			name:   "already started answers at once",
			setup:  func(t *testing.T, en *env) *models.Machine { return en.started("nginx") },
			params: func(*models.Machine) *machines.WaitParams { return waitParams("started") },
			want:   stateStarted,
		},
		{
			name:  "stopped, with version",
			setup: func(t *testing.T, en *env) *models.Machine { return en.started("nginx") },
			act:   func(t *testing.T, en *env, id string) { en.stop(id) },
			params: func(m *models.Machine) *machines.WaitParams {
				return waitVersion(m.Version, 5, "stopped")
			},
			want: stateStopped,
		},
		{
			name:  "stopped, with the older instance_id",
			setup: func(t *testing.T, en *env) *models.Machine { return en.started("nginx") },
			act:   func(t *testing.T, en *env, id string) { en.stop(id) },
			params: func(m *models.Machine) *machines.WaitParams {
				return &machines.WaitParams{State: []string{"stopped"}, Timeout: 5, InstanceID: m.InstanceID}
			},
			want: stateStopped,
		},
		{
			name:  "several states: the first reached wins",
			setup: func(t *testing.T, en *env) *models.Machine { return en.started("nginx") },
			act: func(t *testing.T, en *env, id string) {
				if _, err := en.do(id, "force-destroy"); err != nil {
					t.Error(err)
				}
			},
			params: func(m *models.Machine) *machines.WaitParams {
				return waitVersion(m.Version, 5, "suspended", "destroyed")
			},
			want: stateDestroyed,
		},
		{
			name:  "suspended",
			setup: func(t *testing.T, en *env) *models.Machine { return en.started("nginx") },
			act: func(t *testing.T, en *env, id string) {
				if _, err := en.do(id, "suspend"); err != nil {
					t.Error(err)
				}
			},
			params: func(m *models.Machine) *machines.WaitParams {
				return waitVersion(m.Version, 5, "suspended")
			},
			want: stateSuspended,
		},
		{
			name:  "settled skips transient states",
			setup: func(t *testing.T, en *env) *models.Machine { return en.create(createBody("nginx")) },
			params: func(*models.Machine) *machines.WaitParams {
				return waitParams("settled")
			},
			want: stateStarted,
		},
		{
			name:   "failed",
			setup:  func(t *testing.T, en *env) *models.Machine { return en.create(createBody("broken")) },
			params: func(*models.Machine) *machines.WaitParams { return waitParams("failed") },
			want:   stateFailed,
		},
		{
			name: "a replaced version has stopped for good",
			setup: func(t *testing.T, en *env) *models.Machine {
				m := en.started("nginx")
				body := &models.UpdateMachineRequest{}
				body.Config = machineConfig("nginx:2")
				if _, err := en.c.Machines.Update(en.ctx, testApp, m.ID, body, nil); err != nil {
					t.Fatal(err)
				}
				return m // the old version
			},
			params: func(m *models.Machine) *machines.WaitParams {
				return waitVersion(m.Version, 5, "stopped")
			},
			want: stateStopped,
		},
	}
	en = newEnv(t, WithImageBehavior("broken", FailToStart("exec format error")))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := *en
			en.t = t
			m := tc.setup(t, &en)
			var wg sync.WaitGroup
			if tc.act != nil {
				wg.Go(func() {
					time.Sleep(20 * time.Millisecond) // let the wait block first
					tc.act(t, &en, m.ID)
				})
			}
			res, err := en.wait(m.ID, tc.params(m))
			wg.Wait()
			if err != nil {
				t.Fatal(errText(err))
			}
			if !res.Ok || res.State != tc.want || !ulidPattern.MatchString(res.EventID) {
				t.Errorf("got %+v, want ok in state %s with an event id", res, tc.want)
			}
		})
	}
}

func TestWaitReplacedVersionCannotStart(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	body := &models.UpdateMachineRequest{}
	body.Config = machineConfig("nginx:2")
	if _, err := en.c.Machines.Update(en.ctx, testApp, m.ID, body, nil); err != nil {
		t.Fatal(err)
	}
	_, err := en.wait(m.ID, waitVersion(m.Version, 5, "started"))
	if codeOf(err) != 400 || !strings.Contains(errorText(err), "was replaced by") {
		t.Errorf("wait started on a replaced version: %v", err)
	}
}

func TestWaitTimeout(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	start := time.Now()
	_, err := en.wait(m.ID, waitVersion(m.Version, 1, "stopped"))
	if codeOf(err) != 408 || !strings.HasPrefix(errorText(err), "deadline_exceeded: ") {
		t.Fatalf("got %v, want 408 deadline_exceeded", err)
	}
	if took := time.Since(start); took < time.Second || took > 3*time.Second {
		t.Errorf("timeout=1 took %s", took)
	}
}

func TestWaitFromEventID(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	first, err := en.wait(m.ID, waitParams("started"))
	if err != nil {
		t.Fatal(err)
	}
	// Waiting past the event that reported started blocks until the next start.
	done := make(chan *models.WaitMachineResponse, 1)
	go func() {
		res, err := en.wait(m.ID, &machines.WaitParams{State: []string{"started"}, Timeout: 5, FromEventID: first.EventID})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case <-done:
		t.Fatal("wait from the current event answered before anything happened")
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := en.do(m.ID, "restart"); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res == nil || res.EventID == first.EventID || res.State != stateStarted {
			t.Errorf("after restart: %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not end after the restart")
	}
}

func TestWaitOnDestroyedMachine(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	if _, err := en.do(m.ID, "force-destroy"); err != nil {
		t.Fatal(err)
	}
	en.waitFor(m.ID, stateDestroyed)
	start := time.Now()
	_, err := en.wait(m.ID, waitParams("started"))
	if codeOf(err) != 412 || time.Since(start) > time.Second {
		t.Errorf("wait started on a destroyed machine: %v after %s, want an immediate 412", err, time.Since(start))
	}
}

func TestWaitEndsWithRequestContext(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := en.c.Machines.Wait(ctx, testApp, m.ID, waitVersion(m.Version, 60, "stopped"))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("cancelled wait: %v after %s", err, time.Since(start))
	}
	// The server side must have let go of the waiter too.
	deadline := time.Now().Add(2 * time.Second)
	for waiters(en) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the emulator still holds the cancelled wait")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWaitEndsWhenEmulatorCloses(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	errc := make(chan error, 1)
	go func() {
		_, err := en.wait(m.ID, waitVersion(m.Version, 60, "stopped"))
		errc <- err
	}()
	for waiters(en) == 0 {
		time.Sleep(time.Millisecond)
	}
	en.srv.Emulator.Close()
	select {
	case err := <-errc:
		if codeOf(err) != 503 {
			t.Errorf("wait during close: %v, want 503", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait still blocked after Close")
	}
}

// waiters counts the server's requests blocked in Machines_wait, from the
// goroutines' stacks.
func waiters(en *env) int {
	return countGoroutines("flytest.(*Emulator).machinesWait")
}
