package flymachines

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// Machine states a wait can ask for (the API's state parameter).
const (
	StateStarted   = "started"
	StateStopped   = "stopped"
	StateSuspended = "suspended"
	StateDestroyed = "destroyed"
	StateFailed    = "failed"
	StateSettled   = "settled"
)

// Outcomes of a wait that ended without reaching its state, wrapped in a
// *WaitError.
var (
	// ErrMachineDestroyed: the Machine was destroyed (or vanished) while
	// waiting for another state.
	ErrMachineDestroyed = errors.New("flymachines: machine was destroyed")
	// ErrMachineFailed: the Machine failed while waiting for another state.
	ErrMachineFailed = errors.New("flymachines: machine failed")
	// ErrNoExitEvent: WaitForExit found the Machine stopped but no readable
	// exit event.
	ErrNoExitEvent = errors.New("flymachines: no exit event")
)

// Bounds of one server-side wait call.
const (
	maxWaitCall = 60 * time.Second // the API's maximum
	minWaitCall = 1 * time.Second  // the API's minimum
	// waitMargin is added to each call's HTTP timeout so the server's
	// answer (a 408 after the full wait) arrives before the client gives up.
	waitMargin = 10 * time.Second
)

// WaitError is a wait that ended without reaching its state. Err says why
// and is matched by errors.Is and errors.As: ErrMachineDestroyed,
// ErrMachineFailed, context.DeadlineExceeded (which also matches
// ErrTimeout), context.Canceled, or the call's own error (an *APIError, a
// *ValidationError, a transport error).
type WaitError struct {
	App       string
	MachineID string
	States    []string
	LastState string // the Machine's state when last seen; "" if not looked up
	Err       error
}

func (e *WaitError) Error() string {
	s := fmt.Sprintf("flymachines: waiting for machine %s (app %s) to be %s", e.MachineID, e.App, strings.Join(e.States, " or "))
	if e.LastState != "" {
		s += ", last seen " + e.LastState
	}
	return s + ": " + e.Err.Error()
}

// Unwrap gives Err, plus ErrTimeout when the context's deadline passed.
func (e *WaitError) Unwrap() []error {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return []error{e.Err, ErrTimeout}
	}
	return []error{e.Err}
}

// A WaitOption tunes WaitForState.
type WaitOption func(*waitConfig)

type waitConfig struct {
	instanceID string
	callWait   time.Duration
}

// WithInstanceID ties the wait to one Machine version (instance_id), as
// returned by create, update or start. Without it, a wait for stopped,
// suspended or destroyed looks the Machine up first to get its current one.
func WithInstanceID(id string) WaitOption {
	return func(c *waitConfig) { c.instanceID = id }
}

// WithWaitCallTimeout sets how long each server-side wait call lasts
// before the API answers 408 and the helper calls again: between 1 s and
// 60 s (the default), rounded down to whole seconds.
func WithWaitCallTimeout(d time.Duration) WaitOption {
	return func(c *waitConfig) { c.callWait = d }
}

// WaitForState waits until the Machine is in one of states, using the
// API's server-side wait: it calls again after every 408 ("not yet"), each
// call lasting at most a minute and its HTTP timeout a margin longer,
// until ctx ends. For stopped, suspended and destroyed it ties the wait to
// the Machine's current version (see WithInstanceID).
//
// It returns the API's answer once a state is reached. Otherwise the error
// is a *WaitError that tells apart: ctx ended (context.DeadlineExceeded,
// also ErrTimeout, or context.Canceled), the Machine was destroyed or
// failed meanwhile (ErrMachineDestroyed, ErrMachineFailed), a bad request
// (ErrInvalidArgument), and any other API or transport error. Between calls
// it looks the Machine up, to notice it died instead of waiting forever.
func (c *Client) WaitForState(ctx context.Context, app, machineID string, states []string, opts ...WaitOption) (*models.WaitMachineResponse, error) {
	cfg := waitConfig{callWait: maxWaitCall}
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	w := &waiter{c: c, app: app, id: machineID, states: states, cfg: cfg}
	return w.run(ctx)
}

// waiter is one WaitForState call.
type waiter struct {
	c      *Client
	app    string
	id     string
	states []string
	cfg    waitConfig
	last   string // the Machine's state when last looked up
	seen   bool   // the Machine was seen to exist
}

func (w *waiter) fail(err error) error {
	return &WaitError{App: w.app, MachineID: w.id, States: w.states, LastState: w.last, Err: err}
}

func (w *waiter) wants(state string) bool { return slices.Contains(w.states, state) }

func (w *waiter) reached(state string) *models.WaitMachineResponse {
	return &models.WaitMachineResponse{Ok: true, State: state}
}

func (w *waiter) run(ctx context.Context) (*models.WaitMachineResponse, error) {
	if err := w.checkArgs(); err != nil {
		return nil, w.fail(err)
	}
	instanceID := w.cfg.instanceID
	if instanceID == "" && w.needsVersion() {
		m, err := w.c.showMachine(ctx, w.app, w.id)
		switch {
		case err == nil:
			w.seen, w.last = true, m.State
			instanceID = m.InstanceID
			if instanceID == "" {
				instanceID = m.Version
			}
		case errors.Is(err, ErrNotFound) && w.wants(StateDestroyed):
			return w.reached(StateDestroyed), nil
		default:
			return nil, w.fail(w.ctxErr(ctx, err))
		}
	}
	for {
		if ctx.Err() != nil {
			return nil, w.fail(w.ctxErr(ctx, nil))
		}
		secs := w.c.waitCallSeconds(ctx, w.cfg.callWait)
		// Asking for failed too ends the call as soon as the Machine fails,
		// instead of at the call's timeout.
		params := &machines.WaitParams{State: w.states, Timeout: secs, InstanceID: instanceID}
		if !w.wants(StateFailed) {
			params.State = append(slices.Clip(w.states), StateFailed)
		}
		start := time.Now()
		res, err := w.c.Machines.Wait(ctx, w.app, w.id, params)
		if err == nil {
			switch {
			case !res.Ok:
				// {}, null, an empty body, {"ok":false,...}: not an answer
				// that the state was reached.
				return nil, w.fail(emptyAnswer(ops.MachinesWait, "does not say ok"))
			case res.State == StateFailed && !w.wants(StateFailed):
				w.seen, w.last = true, StateFailed
				return nil, w.fail(ErrMachineFailed)
			case res.State != "" && !w.wants(res.State):
				return nil, w.fail(emptyAnswer(ops.MachinesWait, "names state "+cleanText(res.State, 32)+", not one waited for"))
			}
			w.seen = true
			return res, nil
		}
		if ctx.Err() != nil {
			return nil, w.fail(w.ctxErr(ctx, err))
		}
		apiErr, isAPI := errors.AsType[*APIError](err)
		if !isAPI {
			return nil, w.fail(err)
		}
		switch apiErr.StatusCode {
		case http.StatusRequestTimeout:
			// Not there yet. Make sure it can still get there.
			if res, err := w.checkAlive(ctx); res != nil || err != nil {
				return res, err
			}
			// A 408 long before the asked timeout would make a busy loop.
			if err := sleepCtx(ctx, w.c.waitPace-time.Since(start)); err != nil {
				return nil, w.fail(w.ctxErr(ctx, err))
			}
			continue
		case http.StatusNotFound:
			if w.wants(StateDestroyed) {
				return w.reached(StateDestroyed), nil
			}
			if w.seen {
				return nil, w.fail(fmt.Errorf("%w: %w", ErrMachineDestroyed, err))
			}
			return nil, w.fail(err)
		}
		// Any other answer (a 400 for instance): if the Machine died
		// meanwhile, say so; else report the answer.
		res, cerr := w.checkAlive(ctx)
		if res != nil || cerr != nil {
			return res, cerr
		}
		return nil, w.fail(err)
	}
}

// checkArgs refuses what the API would refuse, before any call.
func (w *waiter) checkArgs() error {
	var problems []string
	if w.app == "" {
		problems = append(problems, "empty app name")
	}
	if w.id == "" {
		problems = append(problems, "empty machine id")
	}
	if len(w.states) == 0 {
		problems = append(problems, "no state to wait for")
	}
	for _, s := range w.states {
		switch s {
		case StateStarted, StateStopped, StateSuspended, StateDestroyed, StateFailed, StateSettled:
		default:
			problems = append(problems, fmt.Sprintf("unknown state %q", s))
		}
	}
	if w.cfg.callWait < minWaitCall || w.cfg.callWait > maxWaitCall {
		problems = append(problems, fmt.Sprintf("wait call timeout %s outside 1s..60s", w.cfg.callWait))
	}
	if len(problems) > 0 {
		return &ValidationError{Op: "WaitForState", Err: errors.New(strings.Join(problems, "; "))}
	}
	return nil
}

// needsVersion: the API ties waits for these states to one version.
func (w *waiter) needsVersion() bool {
	return w.wants(StateStopped) || w.wants(StateSuspended) || w.wants(StateDestroyed)
}

// checkAlive looks the Machine up between waits. It returns a result when
// the Machine is gone and that was the goal, an error when it died in a
// way the wait cannot recover from, and (nil, nil) to keep waiting. Other
// lookup failures are left to the next wait call to report.
func (w *waiter) checkAlive(ctx context.Context) (*models.WaitMachineResponse, error) {
	m, err := w.c.showMachine(ctx, w.app, w.id)
	switch {
	case ctx.Err() != nil:
		return nil, w.fail(w.ctxErr(ctx, err))
	case errors.Is(err, ErrNotFound):
		if w.wants(StateDestroyed) {
			return w.reached(StateDestroyed), nil
		}
		if w.seen {
			return nil, w.fail(fmt.Errorf("%w: %w", ErrMachineDestroyed, err))
		}
		return nil, nil
	case err != nil:
		return nil, nil
	}
	w.seen, w.last = true, m.State
	switch m.State {
	case StateDestroyed:
		if w.wants(StateDestroyed) {
			return w.reached(StateDestroyed), nil
		}
		return nil, w.fail(ErrMachineDestroyed)
	case "destroying":
		if !w.wants(StateDestroyed) {
			return nil, w.fail(ErrMachineDestroyed)
		}
	case StateFailed:
		if !w.wants(StateFailed) {
			return nil, w.fail(ErrMachineFailed)
		}
	}
	return nil, nil
}

// ctxErr is the context's error (with its cause, if one was given),
// keeping the call's error for the record.
func (w *waiter) ctxErr(ctx context.Context, callErr error) error {
	err := ctx.Err()
	if err == nil {
		return callErr
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return err
}

// sleepCtx sleeps for d (nothing if d <= 0) or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitCallSeconds is how long the next server-side wait may last: the
// configured length, cut to what is left of ctx and to fit under a
// client-level http.Client.Timeout, never below the API's 1 s.
func (c *Client) waitCallSeconds(ctx context.Context, want time.Duration) int64 {
	d := want
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	if t := c.httpClient.Timeout; t > 0 {
		d = min(d, t-waitMargin)
	}
	return int64(max(d, minWaitCall) / time.Second)
}

func (c *Client) showMachine(ctx context.Context, app, id string) (*models.Machine, error) {
	m, err := c.Machines.Show(ctx, app, id, nil)
	if err != nil {
		return nil, err
	}
	if m.ID != "" {
		return m, nil
	}
	return nil, emptyAnswer(ops.MachinesShow, "holds no machine")
}

// WaitStarted waits for the Machine to be started. See WaitForState.
func (c *Client) WaitStarted(ctx context.Context, app, machineID string, opts ...WaitOption) error {
	_, err := c.WaitForState(ctx, app, machineID, []string{StateStarted}, opts...)
	return err
}

// WaitStopped waits for the Machine (its current version, unless
// WithInstanceID says otherwise) to be stopped. See WaitForState.
func (c *Client) WaitStopped(ctx context.Context, app, machineID string, opts ...WaitOption) error {
	_, err := c.WaitForState(ctx, app, machineID, []string{StateStopped}, opts...)
	return err
}

// WaitDestroyed waits for the Machine to be destroyed. A Machine that is
// already gone (404) counts as destroyed. See WaitForState.
func (c *Client) WaitDestroyed(ctx context.Context, app, machineID string, opts ...WaitOption) error {
	_, err := c.WaitForState(ctx, app, machineID, []string{StateDestroyed}, opts...)
	return err
}
