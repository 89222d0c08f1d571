package flytest

import (
	"maps"
	"slices"
	"time"
)

// maxRuns bounds the runs the emulator remembers: the oldest are forgotten.
const maxRuns = 20_000

// Run is one run of a Machine's main process as the emulator saw it: from
// the moment the Machine reached started until it left that state. Tests
// read them (Runs) to check what ran where and when from the platform's
// side, not from what their clients report: that a job ran once, that no
// run was cut short by someone else's command.
type Run struct {
	App       string
	MachineID string
	Version   string // the config version it ran
	Image     string
	Cmd       []string          // init.exec, else init.cmd; empty: the image's own command
	Env       map[string]string // config.env
	Metadata  map[string]string // config.metadata when it started
	Started   time.Time         // when the Machine reached started
	Ended     time.Time         // when it left started; zero while it runs
	// End says why it ended, as the event that ended it is named: "exit"
	// (the process ended on its own; ExitCode says how), "stop",
	// "restart", "update" (replaced by an update), "suspend" or "destroy".
	// "" while it runs.
	End      string
	ExitCode int // for End "exit"
}

// Running reports a run that has not ended.
func (r Run) Running() bool { return r.End == "" }

// runLog is what the emulator remembers of runs. Guarded by Emulator.mu.
type runLog struct {
	done []*Run            // oldest first, at most maxRuns with open
	open map[*machine]*Run // the run of each started Machine
}

// noteRun records m moving to state through an event of type typ: a
// Machine reaching started begins a run, one leaving it ends its run.
// Call with e.mu held, before m.state changes.
func (e *Emulator) noteRun(m *machine, state, typ string, request any, now time.Time) {
	l := &e.runs
	if r := l.open[m]; r != nil && state != stateStarted {
		r.Ended, r.End = now, typ
		if x, ok := request.(*exitRequest); ok && typ == "exit" {
			r.ExitCode = x.ExitEvent.ExitCode
		}
		delete(l.open, m)
	}
	if state != stateStarted || l.open[m] != nil {
		return
	}
	r := &Run{App: m.appName, MachineID: m.id, Version: m.version, Started: now}
	if c := m.config; c != nil {
		r.Image, r.Env, r.Metadata = c.Image, maps.Clone(c.Env), maps.Clone(c.Metadata)
		if c.Init != nil {
			r.Cmd = slices.Clone(c.Init.Exec)
			if len(r.Cmd) == 0 {
				r.Cmd = slices.Clone(c.Init.Cmd)
			}
		}
	}
	if l.open == nil {
		l.open = map[*machine]*Run{}
	}
	l.open[m] = r
	l.done = append(l.done, r)
	if len(l.done) > maxRuns {
		n := copy(l.done, l.done[len(l.done)-maxRuns:])
		clear(l.done[n:])
		l.done = l.done[:n]
	}
}

// Runs returns the runs of app's Machines (of every app for ""), in the
// order they started, the last maxRuns of them (20,000), those still
// going included. The values are copies.
func (e *Emulator) Runs(app string) []Run {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Run
	for _, r := range e.runs.done {
		if app == "" || r.App == app {
			cp := *r
			cp.Cmd, cp.Env, cp.Metadata = slices.Clone(r.Cmd), maps.Clone(r.Env), maps.Clone(r.Metadata)
			out = append(out, cp)
		}
	}
	return out
}
