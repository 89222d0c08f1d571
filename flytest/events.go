package flytest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Who caused an event, as the API reports it.
const (
	sourceUser = "user" // an API call
	sourceFlyd = "flyd" // the platform: boots, exits, restarts by policy
)

// Events per page of Machines_list_events, as documented.
const (
	defaultEventPage = 20
	maxEventPage     = 50
)

// event is one recorded event. seq orders events across the emulator, so
// wait can tell whether a state was reached after from_event_id.
type event struct {
	seq   int64
	model *models.MachineEvent
}

func (ev *event) createdAt() time.Time { return time.UnixMilli(ev.model.Timestamp) }

// exitEvent is request.exit_event of an "exit" event. Every field goes on
// the wire, zero or not, as the API sends it (m05-docs2022-get-exit-event
// shows the zeros and -1s; error and guest_error are "" unless the exit
// came with one).
type exitEvent struct {
	ExitCode      int    `json:"exit_code"`
	GuestExitCode int    `json:"guest_exit_code"`
	GuestSignal   int    `json:"guest_signal"`
	Signal        int    `json:"signal"`
	OOMKilled     bool   `json:"oom_killed"`
	RequestedStop bool   `json:"requested_stop"`
	Restarting    bool   `json:"restarting"`
	ExitedAt      string `json:"exited_at"`
	Error         string `json:"error"`
	GuestError    string `json:"guest_error"`
}

// exitRequest is the request of an "exit" event.
type exitRequest struct {
	ExitEvent    exitEvent `json:"exit_event"`
	RestartCount int       `json:"restart_count"`
}

// eventRequest is an event's request (an exitRequest, an update's...) as
// the generated model holds it. Read from its JSON, the model keeps every
// zero the API sends and every key it does not name.
func eventRequest(r any) *models.FlyMachineEventRequest {
	if r == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err) // a struct of plain fields always encodes
	}
	var out models.FlyMachineEventRequest
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err) // the model reads what the struct writes
	}
	return &out
}

// newExit describes a main process that ended at now with code; signal is
// -1 when no signal ended it.
func newExit(now time.Time, code, signal int) exitEvent {
	return exitEvent{ExitCode: code, GuestExitCode: code, Signal: signal, GuestSignal: signal, ExitedAt: now.UTC().Format(time.RFC3339Nano)}
}

// record appends an event, keeping the newest maxEvents.
func (m *machine) record(seq int64, now time.Time, typ, status, source string, request any) *event {
	ev := &event{seq: seq, model: &models.MachineEvent{
		ID:        newULID(now),
		Type:      typ,
		Status:    status,
		Source:    source,
		Timestamp: now.UnixMilli(),
		Request:   eventRequest(request),
	}}
	m.events = append(m.events, ev)
	if len(m.events) > maxEvents {
		// Copy down rather than reslice, so the dropped events can be freed.
		n := copy(m.events, m.events[len(m.events)-maxEvents:])
		clear(m.events[n:])
		m.events = m.events[:n]
	}
	return ev
}

// findEvent returns the retained event with the given id.
func (m *machine) findEvent(id string) *event {
	for _, ev := range m.events {
		if ev.model.ID == id {
			return ev
		}
	}
	return nil
}

func (e *Emulator) machinesListEvents(w http.ResponseWriter, r *http.Request) {
	limit := defaultEventPage
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			invalid(w, "limit must be a positive integer, got %q", s)
			return
		}
		limit = min(n, maxEventPage)
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		out := make([]*models.MachineEvent, 0, min(limit, len(m.events)))
		for i := len(m.events) - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, m.events[i].model)
		}
		writeJSON(w, http.StatusOK, out)
	})
}
