package flymachines

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

const jobEvents = `[
 {"id":"ev4","type":"stop","status":"stopped","source":"flyd","timestamp":1700000004000},
 {"id":"ev3","type":"exit","status":"stopped","source":"flyd","timestamp":1700000003000,
  "request":{"exit_event":{"exit_code":137,"signal":9,"oom_killed":true,"requested_stop":false,
   "exited_at":"2023-11-14T22:13:23.5Z","guest_exit_code":0,"guest_signal":-1},"restart_count":1}},
 {"id":"ev1","type":"exit","status":"stopped","source":"flyd","timestamp":1700000001000,
  "request":{"exit_event":{"exit_code":1,"signal":-1,"oom_killed":false}}},
 {"id":"ev0","type":"start","status":"started","source":"user","timestamp":1700000000000}
]`

func TestWaitForExit(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.show.replies = []reply{{status: 200, body: machineStarted}}
		f.wait.replies = []reply{{status: 408, body: notYet}, {status: 200, body: `{"ok":true,"state":"stopped"}`}}
		f.events.replies = []reply{{status: 200, body: jobEvents}}
		c := f.client(t, nil)

		st, err := c.WaitForExit(ctxTimeout(t, 10*time.Second), "app", "m1")
		if err != nil {
			t.Fatal(err)
		}
		want := ExitStatus{ExitCode: 137, Signal: 9, OOMKilled: true, State: "stopped",
			ExitedAt: time.Date(2023, 11, 14, 22, 13, 23, 5e8, time.UTC)}
		if st.ExitCode != want.ExitCode || st.Signal != want.Signal || st.OOMKilled != want.OOMKilled ||
			st.RequestedStop || st.State != want.State || !st.ExitedAt.Equal(want.ExitedAt) || st.Event.ID != "ev3" {
			t.Errorf("got %+v, want %+v", st, want)
		}
		if st.Success() {
			t.Error("an OOM kill counted as success")
		}
		q := f.wait.seen()[0]
		if q.Get("instance_id") != "01INST" || !slices.Equal(q["state"], []string{"stopped", "destroyed", "failed"}) {
			t.Errorf("wait query = %v", q)
		}
	})
}

func TestWaitForExitWithoutExitEvent(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.show.replies = []reply{{status: 200, body: machineStarted}}
		f.wait.replies = []reply{{status: 200, body: `{"ok":true,"state":"stopped"}`}}
		f.events.replies = []reply{{status: 200, body: `[{"id":"e","type":"start","timestamp":1}]`}}
		c := f.client(t, nil)
		_, err := c.WaitForExit(ctxTimeout(t, 5*time.Second), "app", "m1")
		if !errors.Is(err, ErrNoExitEvent) {
			t.Fatalf("err = %v, want ErrNoExitEvent", err)
		}
	})
}

// TestExitStatusFromOddRequests: the request field is loosely typed; odd
// shapes give ErrNoExitEvent or a value, never a panic.
func TestExitStatusFromOddRequests(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		request any
		code    int
		ok      bool
	}{
		{"json.Number", map[string]any{"exit_event": map[string]any{"exit_code": json.Number("3")}}, 3, true},
		{"float64", map[string]any{"exit_event": map[string]any{"exit_code": 4.0}}, 4, true},
		{"string-encoded request", `{"exit_event":{"exit_code":5}}`, 5, true},
		{"code as string", map[string]any{"exit_event": map[string]any{"exit_code": "6"}}, 6, true},
		{"struct", struct {
			ExitEvent struct {
				ExitCode int `json:"exit_code"`
			} `json:"exit_event"`
		}{}, 0, true},
		{"nil", nil, 0, false},
		{"number", 5, 0, false},
		{"bad JSON string", `{"exit_event":`, 0, false},
		{"exit_event a list", map[string]any{"exit_event": []any{1}}, 0, false},
		{"no exit_code", map[string]any{"exit_event": map[string]any{"signal": 9}}, 0, false},
		{"fractional code", map[string]any{"exit_event": map[string]any{"exit_code": 1.5}}, 0, false},
		{"huge code", map[string]any{"exit_event": map[string]any{"exit_code": 1e300}}, 0, false},
		{"code a bool", map[string]any{"exit_event": map[string]any{"exit_code": true}}, 0, false},
		{"unmarshalable", map[string]any{"x": func() {}}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, err := exitStatusFrom([]*models.MachineEvent{nil, {ID: "e1", Type: "exit", Timestamp: 5, Request: tc.request}})
			if !tc.ok {
				if !errors.Is(err, ErrNoExitEvent) {
					t.Fatalf("err = %v, want ErrNoExitEvent", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.ExitCode != tc.code || st.Signal != 0 {
				t.Errorf("got %+v", st)
			}
		})
	}
}

func TestExitedAtInMilliseconds(t *testing.T) {
	t.Parallel()
	st, err := exitStatusFrom([]*models.MachineEvent{{Type: "exit", Timestamp: 2,
		Request: map[string]any{"exit_event": map[string]any{"exit_code": float64(127), "exited_at": float64(1653346105255)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(1653346105255); !st.ExitedAt.Equal(want) || st.ExitCode != 127 {
		t.Errorf("exited at %s code %d, want %s and 127", st.ExitedAt, st.ExitCode, want)
	}
}
