package flymachines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
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
func (c *Client) WaitForExit(ctx context.Context, app, machineID string) (*ExitStatus, error) {
	res, err := c.WaitForState(ctx, app, machineID, []string{StateStopped, StateDestroyed})
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

// exitStatusFrom reads the newest exit event. The event's request is
// loosely typed in the spec, so it is read field by field and anything
// unexpected is an error, never a panic.
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
	ee, err := exitEventOf(newest.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: event %s: %w", ErrNoExitEvent, cleanText(newest.ID, 64), err)
	}
	code, ok := intField(ee, "exit_code")
	if !ok {
		return nil, fmt.Errorf("%w: event %s: no exit_code", ErrNoExitEvent, cleanText(newest.ID, 64))
	}
	st := &ExitStatus{ExitCode: code, Event: newest}
	if sig, ok := intField(ee, "signal"); ok && sig > 0 {
		st.Signal = sig
	}
	st.OOMKilled, _ = ee["oom_killed"].(bool)
	st.RequestedStop, _ = ee["requested_stop"].(bool)
	// exited_at comes as an RFC 3339 time or, as Fly's API guide shows
	// it, as milliseconds since the epoch.
	switch v := ee["exited_at"].(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			st.ExitedAt = t
		}
	case float64:
		if v > 0 && v < 1e15 { // before the year 33658: a millisecond count
			st.ExitedAt = time.UnixMilli(int64(v))
		}
	case json.Number:
		if ms, err := v.Int64(); err == nil && ms > 0 && ms < 1e15 {
			st.ExitedAt = time.UnixMilli(ms)
		}
	}
	return st, nil
}

// exitEventOf finds request.exit_event, whatever form the request came in.
func exitEventOf(req any) (map[string]any, error) {
	var m map[string]any
	switch v := req.(type) {
	case nil:
		return nil, errors.New("no request")
	case map[string]any:
		m = v
	case string:
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	case []byte:
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
	}
	ee, ok := m["exit_event"].(map[string]any)
	if !ok {
		return nil, errors.New("no exit_event in request")
	}
	return ee, nil
}

// intField reads an integer that may have been decoded as float64,
// json.Number or a string.
func intField(m map[string]any, key string) (int, bool) {
	switch v := m[key].(type) {
	case float64:
		if v != math.Trunc(v) || v < math.MinInt32 || v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 32)
		return int(n), err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 32)
		return int(n), err == nil
	case int:
		return v, true
	case int64:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, false
		}
		return int(v), true
	}
	return 0, false
}
