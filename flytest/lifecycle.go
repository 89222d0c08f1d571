package flytest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
)

// Machine states, as the API reports them. The -ing states and created are
// transient: each lasts the transition delay (WithTransitionDelay).
const (
	stateCreated    = "created"
	stateStarting   = "starting"
	stateStarted    = "started"
	stateStopping   = "stopping"
	stateStopped    = "stopped"
	stateReplacing  = "replacing"
	stateSuspending = "suspending"
	stateSuspended  = "suspended"
	stateDestroying = "destroying"
	stateDestroyed  = "destroyed"
	stateFailed     = "failed"
)

var knownStates = map[string]bool{
	stateCreated: true, stateStarting: true, stateStarted: true, stateStopping: true,
	stateStopped: true, stateReplacing: true, stateSuspending: true, stateSuspended: true,
	stateDestroying: true, stateDestroyed: true, stateFailed: true,
}

// settled reports whether a state is one a Machine rests in.
func settled(state string) bool {
	switch state {
	case stateStarted, stateStopped, stateSuspended, stateDestroyed, stateFailed:
		return true
	}
	return false
}

// Linux signal numbers, for exit events.
var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
}

// ignoredSignals are handled by a process without ending it: SIGHUP,
// SIGUSR1 and SIGUSR2, by number.
var ignoredSignals = map[int]bool{1: true, 10: true, 12: true}

// transition moves m to state and records the event that says so. Every
// state change is an event, so wait can name the event that satisfied it.
func (e *Emulator) transition(m *machine, state, typ, source string, request any) {
	now := e.cfg.clock.Now()
	m.stateEvent = m.record(e.st.newSeq(), now, typ, state, source, request)
	wasDestroyed := m.state == stateDestroyed
	e.noteRun(m, state, typ, request, now)
	m.state = state
	m.updatedAt = now
	if state == stateDestroyed && !wasDestroyed {
		m.destroyed = now
		m.lease = nil
		if a := e.st.apps[m.appName]; a != nil && a.machines[m.id] == m {
			a.destroyed = append(a.destroyed, m)
			a.releaseName(m.name) // a destroyed Machine's name is free again
		}
	}
	m.broadcast()
}

// later runs f for m after d, unless a newer command on m cancels it first
// (cancelPending). Call with e.mu held.
func (e *Emulator) later(m *machine, d time.Duration, f func()) {
	if m.gone {
		return
	}
	m.nextTimer++
	id := m.nextTimer
	m.pending[id] = e.after(d, func() {
		delete(m.pending, id)
		f()
	})
}

// cancelPending drops m's scheduled transitions: a user command replaces
// whatever the Machine was on its way to.
func (m *machine) cancelPending() {
	for id, cancel := range m.pending {
		cancel()
		delete(m.pending, id)
	}
}

// launch boots m: starting now, then boot.
func (e *Emulator) launch(m *machine, typ, source string) {
	e.transition(m, stateStarting, typ, source, nil)
	e.boot(m)
}

// boot brings a starting m up after the transition delay: started, with
// its behaviour armed, or failed if its behaviour says so.
func (e *Emulator) boot(m *machine) {
	e.later(m, e.cfg.transitionDelay, func() {
		b := e.behaviorFor(m.config)
		if b.kind == failsToStart {
			e.transition(m, stateFailed, "start", sourceFlyd, map[string]string{"error": b.message})
			return
		}
		m.mem = newMemoryState(m.config.Guest)
		e.transition(m, stateStarted, "start", sourceFlyd, nil)
		if b.kind == exitsAfter || b.kind == oomAfter {
			e.later(m, b.after, func() {
				x, _ := b.exit(e.cfg.clock.Now())
				e.exited(m, x)
			})
		}
	})
}

// exited handles a main process that ended without being asked: the
// restart policy decides whether m boots again.
func (e *Emulator) exited(m *machine, x exitEvent) {
	if m.state != stateStarted {
		return
	}
	m.cancelPending()
	policy, maxRetries := restartPolicy(m.config)
	failed := x.ExitCode != 0 || x.OOMKilled
	x.Restarting = policy == models.FlyMachineRestartPolicyAlways ||
		(policy == models.FlyMachineRestartPolicyOnDashFailure && failed && m.restarts < maxRetries)
	req := &exitRequest{ExitEvent: x, RestartCount: m.restarts}
	if x.Restarting {
		m.restarts++
		e.transition(m, stateStarting, "exit", sourceFlyd, req)
		e.boot(m)
		return
	}
	e.transition(m, stateStopped, "exit", sourceFlyd, req)
	e.afterExit(m)
}

// afterExit destroys an auto_destroy Machine once it has stopped, be it
// by request or on its own.
func (e *Emulator) afterExit(m *machine) {
	if m.config.AutoDestroy {
		e.later(m, e.cfg.transitionDelay, func() { e.destroy(m, sourceFlyd, nil) })
	}
}

// stop shuts m down: stopping, then stopped with an exit event that says
// the stop was requested.
func (e *Emulator) stop(m *machine, signal string) {
	m.cancelPending()
	e.transition(m, stateStopping, "stop", sourceUser, nil)
	e.later(m, e.cfg.transitionDelay, func() {
		x := newExit(e.cfg.clock.Now(), 0, -1)
		if signal == "SIGKILL" {
			x = newExit(e.cfg.clock.Now(), 137, 9)
		}
		x.RequestedStop = true
		e.transition(m, stateStopped, "exit", sourceFlyd, &exitRequest{ExitEvent: x, RestartCount: m.restarts})
		e.afterExit(m)
	})
}

// destroy takes m through destroying to destroyed.
func (e *Emulator) destroy(m *machine, source string, request any) {
	m.cancelPending()
	e.transition(m, stateDestroying, "destroy", source, request)
	e.later(m, e.cfg.transitionDelay, func() {
		e.transition(m, stateDestroyed, "destroy", sourceFlyd, nil)
	})
}

type updateRequest struct {
	Version string `json:"version"`
}

// replace moves m onto the config version just set. A Machine that was up
// boots again on it (or stops, with skip_launch). One that was down
// (stopped, suspended, failed) is left stopped, since a suspended snapshot
// no longer matches the config, unless the update explicitly said
// skip_launch=false: then it boots.
func (e *Emulator) replace(m *machine, skipLaunch, launch bool) {
	req := updateRequest{Version: m.version}
	switch {
	case m.running():
		e.transition(m, stateReplacing, "update", sourceUser, req)
		e.later(m, e.cfg.transitionDelay, func() {
			if !skipLaunch {
				e.launch(m, "start", sourceFlyd)
				return
			}
			x := newExit(e.cfg.clock.Now(), 0, -1)
			x.RequestedStop = true
			e.transition(m, stateStopped, "exit", sourceFlyd, &exitRequest{ExitEvent: x})
		})
	case launch:
		e.launch(m, "update", sourceUser)
	default:
		e.transition(m, stateStopped, "update", sourceUser, req)
	}
}

func (e *Emulator) machinesStart(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		prev := m.state
		switch prev {
		case stateStopped, stateSuspended, stateFailed:
		default:
			preconditionFailed(w, "unable to start machine from current state: '%s'", prev)
			return
		}
		m.cancelPending()
		m.restarts = 0
		e.launch(m, "start", sourceUser)
		writeJSON(w, http.StatusOK, startAnswer(models.StartMachineResponse{PreviousState: prev}))
	})
}

func (e *Emulator) machinesStop(w http.ResponseWriter, r *http.Request) {
	var req models.StopRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if _, ok := parseStopTimeout(w, req.Timeout); !ok {
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		switch m.state {
		case stateStopped, stateStopping, stateFailed:
			// Already down or going down: stopping again is harmless.
		case stateDestroying:
			preconditionFailed(w, "machine %s is being destroyed", m.id)
			return
		default:
			signal := req.Signal
			if signal == "" && m.config.StopConfig != nil {
				signal = m.config.StopConfig.Signal
			}
			m.restarts = 0
			e.stop(m, signal)
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// parseStopTimeout reads a stop or restart timeout: a Go duration ("10s")
// or a number of seconds. On a bad value it has answered 400.
func parseStopTimeout(w http.ResponseWriter, s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		invalid(w, "timeout %q must be a duration such as 10s, or a number of seconds", s)
		return 0, false
	}
	return d, true
}

// machinesRestart restarts a started Machine. force_stop, which flaps
// always sends, asks for the process to be killed rather than stopped: the
// emulated process stops at once either way, so it is read and checked
// only.
func (e *Emulator) machinesRestart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if s := q.Get("signal"); !flytypes.Signal(s).Valid() {
		invalid(w, "signal %q is not a signal name such as SIGTERM", s)
		return
	}
	if _, ok := boolParam(w, q, "force_stop"); !ok {
		return
	}
	if _, ok := parseStopTimeout(w, q.Get("timeout")); !ok {
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		if m.state != stateStarted {
			preconditionFailed(w, "unable to restart machine from current state: '%s'", m.state)
			return
		}
		m.cancelPending()
		m.restarts = 0
		e.transition(m, stateStopping, "restart", sourceUser, nil)
		e.later(m, e.cfg.transitionDelay, func() {
			x := newExit(e.cfg.clock.Now(), 0, -1)
			x.RequestedStop, x.Restarting = true, true
			e.transition(m, stateStarting, "exit", sourceFlyd, &exitRequest{ExitEvent: x})
			e.boot(m)
		})
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

func (e *Emulator) machinesSuspend(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		switch m.state {
		case stateSuspended, stateSuspending:
			// Already there: harmless.
		case stateStarted:
			m.cancelPending()
			e.transition(m, stateSuspending, "suspend", sourceUser, nil)
			e.later(m, e.cfg.transitionDelay, func() {
				e.transition(m, stateSuspended, "suspend", sourceFlyd, nil)
			})
		default:
			preconditionFailed(w, "unable to suspend machine from current state: '%s'", m.state)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

func (e *Emulator) machinesCordon(w http.ResponseWriter, r *http.Request) {
	e.setCordoned(w, r, true)
}

func (e *Emulator) machinesUncordon(w http.ResponseWriter, r *http.Request) {
	e.setCordoned(w, r, false)
}

// setCordoned switches the proxy's traffic to a Machine off or on. It is
// not a state change, so it records no event.
func (e *Emulator) setCordoned(w http.ResponseWriter, r *http.Request, on bool) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		m.cordoned = on
		m.updatedAt = e.cfg.clock.Now()
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// machinesSignal sends a signal by name ("SIGTERM") or by number (9, as
// flyctl's machine kill sends it through flaps).
func (e *Emulator) machinesSignal(w http.ResponseWriter, r *http.Request) {
	var req models.SignalRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	num, ok := req.Signal.Number()
	if !ok {
		invalid(w, "signal is required: a name such as SIGTERM or a number such as 9")
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		if m.state != stateStarted {
			preconditionFailed(w, "unable to signal machine in state '%s': it is not started", m.state)
			return
		}
		if !ignoredSignals[num] {
			// The process dies of it a moment later; the restart policy
			// sees an unrequested exit with exit code 128+signal.
			e.later(m, e.cfg.transitionDelay, func() {
				e.exited(m, newExit(e.cfg.clock.Now(), 128+num, num))
			})
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}
