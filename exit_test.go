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

// TestExitStatusFromOddRequests: an event's request is typed (a fix-up of
// the spec, from fly-go's MachineRequest); shapes that do not fit it are
// refused when the answer is decoded, and a request without a usable exit
// event gives ErrNoExitEvent; never a panic, never a made-up success.
func TestExitStatusFromOddRequests(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		request string // the request as it comes on the wire
		code    int
		want    string // "ok", "no exit event" or "undecodable"
	}{
		{"exit_event", `{"exit_event":{"exit_code":3}}`, 3, "ok"},
		{"exit code 0 as sent", `{"exit_event":{"exit_code":0,"signal":-1}}`, 0, "ok"},
		{"the monitor's exit event first, as fly-go reads it", `{"MonitorEvent":{"exit_event":{"exit_code":4}},"exit_event":{"exit_code":9}}`, 4, "ok"},
		{"unknown keys kept aside", `{"exit_event":{"exit_code":5,"new_field":[1]},"other":{}}`, 5, "ok"},
		{"null", `null`, 0, "no exit event"},
		{"empty", `{}`, 0, "no exit event"},
		{"no exit_code", `{"exit_event":{"signal":9}}`, 0, "no exit event"},
		{"code as string", `{"exit_event":{"exit_code":"6"}}`, 0, "undecodable"},
		{"fractional code", `{"exit_event":{"exit_code":1.5}}`, 0, "undecodable"},
		{"exit_event a list", `{"exit_event":[1]}`, 0, "undecodable"},
		{"string-encoded request", `"{\"exit_event\":{}}"`, 0, "undecodable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var events []*models.MachineEvent
			err := json.Unmarshal([]byte(`[null,{"id":"e1","type":"exit","timestamp":5,"request":`+tc.request+`}]`), &events)
			if tc.want == "undecodable" {
				if err == nil {
					t.Fatalf("decoded %s", tc.request)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := exitStatusFrom(events)
			if tc.want == "no exit event" {
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
	var events []*models.MachineEvent
	if err := json.Unmarshal([]byte(`[{"type":"exit","timestamp":2,"request":{"exit_event":{"exit_code":127,"exited_at":1653346105255}}}]`), &events); err != nil {
		t.Fatal(err)
	}
	st, err := exitStatusFrom(events)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.UnixMilli(1653346105255); !st.ExitedAt.Equal(want) || st.ExitCode != 127 {
		t.Errorf("exited at %s code %d, want %s and 127", st.ExitedAt, st.ExitCode, want)
	}
}
