package flytest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Bounds of Machines_wait's timeout, in seconds, as documented.
const (
	minWaitTimeout     = 1
	maxWaitTimeout     = 60
	defaultWaitTimeout = 60
)

// waitStates are the states wait accepts. "settled" is any state a Machine
// rests in (settled()).
var waitStates = map[string]bool{
	stateStarted: true, stateStopped: true, stateSuspended: true,
	stateDestroyed: true, stateFailed: true, "settled": true,
}

// instanceEnds are the wait states an instance reaches once and for all:
// a wait for one of them with the version of an instance that an update
// replaced is satisfied at once. Without a version such a wait is on the
// Machine's current state, as the API does it: the spec marks neither
// version nor instance_id required, and flyctl waits for stopped,
// suspended and destroyed without them (machine stop, suspend, ephemeral
// runs), also in multi-state waits such as state=started&state=stopped.
var instanceEnds = []string{stateStopped, stateSuspended, stateDestroyed}

// waitQuery is a parsed Machines_wait request.
type waitQuery struct {
	states  []string
	timeout time.Duration
	version string // or instance_id, its older name
	from    string // from_event_id
}

func parseWait(w http.ResponseWriter, r *http.Request) (waitQuery, bool) {
	q := r.URL.Query()
	wq := waitQuery{states: splitList(q["state"]), timeout: defaultWaitTimeout * time.Second}
	if len(wq.states) == 0 {
		wq.states = []string{stateStarted}
	}
	for _, s := range wq.states {
		if !waitStates[s] {
			invalid(w, "state %q is not one of started, stopped, suspended, destroyed, failed, settled", s)
			return wq, false
		}
	}
	if s := q.Get("timeout"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < minWaitTimeout || n > maxWaitTimeout {
			invalid(w, "timeout must be a whole number of seconds from %d to %d, got %q", minWaitTimeout, maxWaitTimeout, s)
			return wq, false
		}
		wq.timeout = time.Duration(n) * time.Second
	}
	wq.version = q.Get("version")
	if id := q.Get("instance_id"); id != "" {
		if wq.version != "" && wq.version != id {
			invalid(w, "version %q and instance_id %q disagree; send one of them", wq.version, id)
			return wq, false
		}
		wq.version = id
	}
	wq.from = q.Get("from_event_id")
	return wq, true
}

// machinesWait blocks until the Machine is in one of the requested states,
// the timeout passes (408), the client goes away, or the emulator closes
// (503). Timeouts run on real time, like transitions, not on the clock.
func (e *Emulator) machinesWait(w http.ResponseWriter, r *http.Request) {
	wq, ok := parseWait(w, r)
	if !ok {
		return
	}
	timer := time.NewTimer(wq.timeout)
	defer timer.Stop()
	fromSeq := int64(-1) // resolved on the first look
	for {
		var wake <-chan struct{}
		done := false
		e.locked(w, func(w http.ResponseWriter) {
			m := e.lookupMachine(w, r)
			switch {
			case m == nil:
				done = true
			case e.closed || m.gone:
				writeError(w, http.StatusServiceUnavailable, "", "unavailable: the emulator is shutting down")
				done = true
			default:
				if fromSeq < 0 {
					fromSeq = 0
					if ev := m.findEvent(wq.from); ev != nil {
						fromSeq = ev.seq
					}
				}
				done = e.waitOutcome(w, m, wq, fromSeq)
				wake = m.changed
			}
		})
		if done {
			return
		}
		select {
		case <-wake:
		case <-timer.C:
			writeError(w, http.StatusRequestTimeout, "", fmt.Sprintf("deadline_exceeded: machine %s did not reach state %s within %s",
				r.PathValue("machine_id"), strings.Join(wq.states, " or "), wq.timeout))
			return
		case <-r.Context().Done():
			return
		}
	}
}

// waitOutcome answers the wait if it is decided and reports whether it did.
// Call with e.mu held.
func (e *Emulator) waitOutcome(w http.ResponseWriter, m *machine, wq waitQuery, fromSeq int64) bool {
	if wq.version != "" && wq.version != m.version {
		if _, known := m.versionConfig(wq.version); !known {
			invalid(w, "machine %s has no version %s", m.id, wq.version)
			return true
		}
		// An update replaced that version: its instance has ended for good.
		for _, s := range wq.states {
			if slices.Contains(instanceEnds, s) || s == "settled" {
				if s == "settled" {
					s = stateStopped
				}
				writeJSON(w, http.StatusOK, models.WaitMachineResponse{Ok: true, State: s, Version: wq.version, EventID: m.stateEvent.model.ID})
				return true
			}
		}
		invalid(w, "version %s of machine %s was replaced by %s; wait on the current version", wq.version, m.id, m.version)
		return true
	}
	reached := slices.Contains(wq.states, m.state) || (slices.Contains(wq.states, "settled") && settled(m.state))
	if reached && m.stateEvent.seq > fromSeq {
		writeJSON(w, http.StatusOK, models.WaitMachineResponse{Ok: true, State: m.state, Version: m.version, EventID: m.stateEvent.model.ID})
		return true
	}
	if m.state == stateDestroyed {
		// Nothing happens to a destroyed Machine: say so now rather than
		// at the timeout.
		preconditionFailed(w, "machine %s is destroyed and will never reach state %s", m.id, strings.Join(wq.states, " or "))
		return true
	}
	return false
}
