package flymachines

import (
	"context"
	"fmt"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// ExitStatus is how a Machine's main process ended, read from the
// Machine's newest exit event.
type ExitStatus struct {
	ExitCode      int
	Signal        int  // the signal that ended the process; 0 if none
	OOMKilled     bool // killed for running out of memory
	RequestedStop bool // ended by a stop request rather than by itself
	ExitedAt      time.Time
	State         string               // the state the Machine reached: stopped or destroyed
	Event         *models.MachineEvent // the exit event itself
}

// Success reports a clean exit: code 0, no signal, not OOM-killed.
func (s *ExitStatus) Success() bool {
	return s.ExitCode == 0 && s.Signal == 0 && !s.OOMKilled
}

// WaitForExit waits for the Machine to stop (or be destroyed) after running,
// then returns how its process ended: the run-a-job-and-collect-the-result
// flow, on the server-side wait rather than polling. A non-zero exit code is
// a result, not an error. Errors are those of WaitForState, or one matching
// ErrNoExitEvent when the Machine's events hold no readable exit event
// (e.g. it never ran, or it was destroyed and its events are gone).
// opts tune the wait: WithInstanceID with the version a start or update
// ran saves the lookup of the current one.
func (c *Client) WaitForExit(ctx context.Context, app, machineID string, opts ...WaitOption) (*ExitStatus, error) {
	res, err := c.WaitForState(ctx, app, machineID, []string{StateStopped, StateDestroyed}, opts...)
	if err != nil {
		return nil, err
	}
	events, err := c.Machines.ListEvents(ctx, app, machineID, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: machine %s: %w", ErrNoExitEvent, machineID, err)
	}
	st, err := exitStatusFrom(events)
	if err != nil {
		return nil, fmt.Errorf("machine %s: %w", machineID, err)
	}
	st.State = res.State
	return st, nil
}

// exitStatusFrom reads the newest exit event: its request's exit_event, or
// the one its monitor reported.
func exitStatusFrom(events []*models.MachineEvent) (*ExitStatus, error) {
	var newest *models.MachineEvent
	for _, ev := range events {
		if ev != nil && ev.Type == "exit" && (newest == nil || ev.Timestamp > newest.Timestamp) {
			newest = ev
		}
	}
	if newest == nil {
		return nil, ErrNoExitEvent
	}
	ee := exitEventOf(newest.Request)
	if ee == nil {
		return nil, fmt.Errorf("%w: event %s: no exit_event in request", ErrNoExitEvent, cleanText(newest.ID, 64))
	}
	// An exit_code of 0 is sent as 0: one that is absent is no result.
	if _, sent := ee.Extra.Lookup("exit_code"); ee.ExitCode == 0 && !sent {
		return nil, fmt.Errorf("%w: event %s: no exit_code", ErrNoExitEvent, cleanText(newest.ID, 64))
	}
	st := &ExitStatus{
		ExitCode:      int(ee.ExitCode),
		OOMKilled:     ee.OomKilled,
		RequestedStop: ee.RequestedStop,
		Event:         newest,
	}
	if ee.Signal > 0 { // the API sends -1 for no signal
		st.Signal = int(ee.Signal)
	}
	st.ExitedAt, _ = ee.ExitedAt.Time()
	return st, nil
}

// exitEventOf is the exit event a request carries: the one the Machine's
// monitor reported, else flyd's (fly-go's MachineRequest.GetExitCode reads
// them in this order).
func exitEventOf(req *models.FlyMachineEventRequest) *models.FlyMachineExitEvent {
	switch {
	case req == nil:
		return nil
	case req.MonitorEvent != nil && req.MonitorEvent.ExitEvent != nil:
		return req.MonitorEvent.ExitEvent
	}
	return req.ExitEvent
}
