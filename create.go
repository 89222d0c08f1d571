package flymachines

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"

	"github.com/flymachines/flymachines-go/models"
)

// CreateOption configures CreateMachine and CreateApp.
type CreateOption func(*createConfig)

type createConfig struct {
	launchID string
	regions  []string
	attempts int
	window   time.Duration
}

func defaultCreateConfig() createConfig {
	return createConfig{attempts: 3, window: DefaultLaunchWindow}
}

// WithLaunchID sets the launch id (by default a random one). It is an
// idempotency key: CreateMachine returns the Machine that already has it
// instead of creating another. A program that repeats a create after a
// restart, or after a *CreateUnresolvedError, finds the Machine of the
// first call this way. See CreateMachine for what holds across processes.
func WithLaunchID(id string) CreateOption { return func(c *createConfig) { c.launchID = id } }

// WithRegionFallback tries these regions, in order, when the API has no
// capacity for the Machine in the region asked for.
func WithRegionFallback(regions ...string) CreateOption {
	return func(c *createConfig) { c.regions = append(c.regions, regions...) }
}

// WithCreateAttempts bounds how many times CreateMachine sends the create
// in each region (default 3). It sends it again only after a failure that
// may have taken effect and a lookup that showed it did not.
func WithCreateAttempts(n int) CreateOption {
	return func(c *createConfig) { c.attempts = max(n, 1) }
}

// WithLaunchWindow sets how long the API's Machine list may lag behind a
// create (DefaultLaunchWindow, 5 s, by default). After a create that may
// have taken effect, CreateMachine looks the launch id up until it finds
// the Machine or a list made this long after the failure shows none; only
// then does it create again. Lookups that fail are retried for as long
// again before CreateMachine gives up with a *CreateUnresolvedError.
func WithLaunchWindow(d time.Duration) CreateOption {
	return func(c *createConfig) { c.window = max(d, 0) }
}

// CreateMachine creates a Machine in app and returns it, never two. It
// stamps a launch id into the Machine's metadata (LaunchIDKey) and, after
// a failure that leaves open whether the create took effect (a 408, a
// 5xx, a lost connection, an answer without a Machine), looks for a
// Machine with that launch id before doing anything else: it returns the
// one that exists, creates again only once a lookup made after the launch
// window (WithLaunchWindow) completed and found none, and reports a
// failure only after such a lookup. When no lookup can complete, it sends
// nothing more and returns a *CreateUnresolvedError that carries the
// launch id. The search includes destroyed Machines, since one with
// auto_destroy may be gone already. With WithRegionFallback, a capacity
// error moves on to the next region. req is not modified.
//
// With WithLaunchID, the launch id is an idempotency key. Within one
// Client, a repeat returns the first Machine (remembered for an hour),
// and concurrent calls share one create. Across clients and processes,
// the Machine list is searched before creating: a repeat finds the first
// Machine once the list shows it (after at most the launch window), but
// two processes that create with one launch id at the same moment can
// both succeed, and a destroyed Machine is found only while the API still
// lists it.
func (c *Client) CreateMachine(ctx context.Context, app string, req *models.CreateMachineRequest, opts ...CreateOption) (*models.Machine, error) {
	cfg := defaultCreateConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if req == nil || req.Config == nil || req.Config.Image == "" {
		return nil, &ValidationError{Op: ops.MachinesCreate, Err: errors.New("a machine needs a config with an image")}
	}
	if app == "" {
		return nil, &ValidationError{Op: ops.MachinesCreate, Err: errors.New("empty app name")}
	}
	if cfg.launchID == "" {
		// A fresh launch id: nobody can have used it yet.
		cfg.launchID = randomID()
		m, err := c.createMachine(ctx, app, req, cfg)
		c.noteUnresolved(app, cfg.launchID, err)
		return m, err
	}
	key := launchKey(app, cfg.launchID)
	for {
		ch := c.launches.flight.DoChan(key, func() (any, error) { return c.createOrRecall(ctx, app, req, cfg) })
		select {
		case <-ctx.Done():
			return nil, &CreateUnresolvedError{Op: ops.MachinesCreate, App: app, LaunchID: cfg.launchID, LookupErr: ctx.Err()}
		case res := <-ch:
			if res.Shared && res.Err != nil && ctx.Err() == nil && isContextEnd(res.Err) {
				continue // the caller whose create this was gave up; carry on with ours
			}
			m, _ := res.Val.(*models.Machine)
			if res.Shared {
				m = cloneMachine(m)
			}
			return m, res.Err
		}
	}
}

func isContextEnd(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// createOrRecall is the create of a caller's launch id: the Machine this
// client remembers, or the one a lookup finds, or a new one.
func (c *Client) createOrRecall(ctx context.Context, app string, req *models.CreateMachineRequest, cfg createConfig) (*models.Machine, error) {
	key := launchKey(app, cfg.launchID)
	rec, known := c.launches.recall(key)
	if known && rec.machine != nil {
		return cloneMachine(rec.machine), nil
	}
	// In doubt since an earlier failure: settle that first, allowing for
	// the list's lag since then. Otherwise one completed lookup decides.
	since := time.Now().Add(-cfg.window)
	if known {
		since = rec.inDoubtSince
	}
	m, err := c.settleLaunch(ctx, app, cfg.launchID, since, cfg.window)
	if err != nil {
		if known {
			c.launches.remember(key, rec)
		}
		return nil, &CreateUnresolvedError{Op: ops.MachinesCreate, App: app, LaunchID: cfg.launchID, LookupErr: err, since: rec.inDoubtSince}
	}
	if m == nil {
		m, err = c.createMachine(ctx, app, req, cfg)
	}
	if err != nil {
		c.noteUnresolved(app, cfg.launchID, err)
		return nil, err
	}
	c.launches.remember(key, launchRecord{machine: cloneMachine(m)})
	return m, nil
}

// noteUnresolved remembers a launch left in doubt, so that a repeat with
// its launch id settles it before creating.
func (c *Client) noteUnresolved(app, launchID string, err error) {
	if ue, ok := errors.AsType[*CreateUnresolvedError](err); ok && !ue.since.IsZero() {
		c.launches.remember(launchKey(app, launchID), launchRecord{inDoubtSince: ue.since})
	}
}

// createMachine stamps the launch id and creates the Machine, region by
// region.
func (c *Client) createMachine(ctx context.Context, app string, req *models.CreateMachineRequest, cfg createConfig) (*models.Machine, error) {
	body := *req
	cfgCopy := *req.Config
	cfgCopy.Metadata = maps.Clone(req.Config.Metadata)
	if cfgCopy.Metadata == nil {
		cfgCopy.Metadata = map[string]string{}
	}
	cfgCopy.Metadata[LaunchIDKey] = cfg.launchID
	body.Config = &cfgCopy

	regions := slices.Compact(append([]string{req.Region}, cfg.regions...))
	for i, region := range regions {
		body.Region = region
		m, err := c.createIn(ctx, app, &body, cfg)
		if err == nil || !errors.Is(err, ErrCapacity) || i == len(regions)-1 {
			return m, err
		}
		c.logger.LogAttrs(ctx, slog.LevelInfo, "flymachines: no capacity, trying the next region",
			slog.String("app", app), slog.String("region", region), slog.String("next", regions[i+1]))
	}
	panic("unreachable")
}

// createOutcome sorts a failed create by what it says about the Machine.
type createOutcome int

const (
	notCreated   createOutcome = iota // refused before taking effect, or bad input
	maybeRetry                        // may have taken effect; if not, sending again may work (408, 502-504, lost connection)
	maybeFailed                       // may have taken effect; if not, it is a failure to report (500, 400, an unusable 2xx)
	maybeUnknown                      // may have taken effect, and the context ended: no way to look
)

func classifyCreate(ctx context.Context, err error) createOutcome {
	if _, ok := errors.AsType[*ValidationError](err); ok {
		return notCreated
	}
	if _, ok := errors.AsType[*RateLimitError](err); ok {
		return notCreated
	}
	if refusedRedirect(err) {
		return notCreated
	}
	if ctx.Err() != nil {
		return maybeUnknown
	}
	if errors.Is(err, ErrUnexpectedAnswer) {
		return maybeFailed
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		switch {
		case apiErr.StatusCode == http.StatusInternalServerError, apiErr.StatusCode == http.StatusBadRequest:
			return maybeFailed
		case classifyFailure(ctx, opFacts(ops.MachinesCreate), err) == ambiguous:
			return maybeRetry
		case apiErr.StatusCode >= 500:
			return maybeFailed
		}
		return notCreated
	}
	if neverSent(err) {
		return notCreated
	}
	return maybeRetry
}

// createIn creates the Machine in one region. A failure that leaves open
// whether it took effect is settled by looking the launch id up.
func (c *Client) createIn(ctx context.Context, app string, body *models.CreateMachineRequest, cfg createConfig) (*models.Machine, error) {
	launchID := body.Config.Metadata[LaunchIDKey]
	var firstDoubt time.Time
	var lastErr error
	for attempt := 1; attempt <= cfg.attempts; attempt++ {
		m, err := c.Machines.Create(ctx, app, body)
		if err == nil {
			if m.ID != "" {
				return m, nil
			}
			err = emptyAnswer(ops.MachinesCreate, "holds no machine")
		}
		outcome := classifyCreate(ctx, err)
		if outcome == notCreated {
			return nil, err
		}
		failedAt := time.Now()
		if firstDoubt.IsZero() {
			firstDoubt = failedAt
		}
		unresolved := &CreateUnresolvedError{Op: ops.MachinesCreate, App: app, LaunchID: launchID, Err: err, since: firstDoubt}
		if outcome == maybeUnknown {
			unresolved.LookupErr = ctx.Err()
			return nil, unresolved
		}
		c.logger.LogAttrs(ctx, slog.LevelInfo, "flymachines: the create may have happened, looking it up",
			slog.String("app", app), slog.String("launch_id", launchID), slog.String("error", err.Error()))
		m, lookErr := c.settleLaunch(ctx, app, launchID, failedAt, cfg.window)
		switch {
		case m != nil:
			return m, nil
		case lookErr != nil:
			unresolved.LookupErr = lookErr
			return nil, unresolved
		case outcome == maybeFailed:
			return nil, err // looked up: it did not take effect
		}
		firstDoubt, lastErr = time.Time{}, err
	}
	return nil, fmt.Errorf("flymachines: creating a machine in %s: none of %d attempts took effect: %w", app, cfg.attempts, lastErr)
}

// CreateApp creates an app, safely retried: it sets an idempotency key (if
// req has none), so the API answers a repeated create with the app the
// first one made, and resends the create, with the same key, after
// failures that leave open whether it took effect. An app is only ever
// returned from the API's answer to this call's create: should a resend be
// answered name_taken (the key not honoured, or someone else took the
// name meanwhile), nothing proves the app is this call's, and the error is
// a *CreateUnresolvedError matching ErrConflict. req is not modified.
func (c *Client) CreateApp(ctx context.Context, req *models.CreateAppRequest, opts ...CreateOption) (*models.CreateAppResponse, error) {
	cfg := defaultCreateConfig()
	for _, opt := range opts {
		if opt != nil {
			opt(&cfg)
		}
	}
	if req == nil || req.Name == "" {
		return nil, &ValidationError{Op: ops.AppsCreate, Err: errors.New("an app needs a name")}
	}
	body := *req
	if body.IdempotencyKey == "" {
		body.IdempotencyKey = randomID()
	}
	unresolved := func(err error) error {
		return &CreateUnresolvedError{Op: ops.AppsCreate, App: body.Name, IdempotencyKey: body.IdempotencyKey, Err: err}
	}
	inDoubt := false
	for attempt := 1; attempt <= cfg.attempts; attempt++ {
		if attempt > 1 {
			if err := sleepCtx(ctx, lookupFirstPause<<(attempt-2)); err != nil {
				return nil, unresolved(err)
			}
		}
		created, err := c.Apps.Create(ctx, &body)
		if err == nil {
			if created.ID != "" {
				return created, nil
			}
			err = emptyAnswer(ops.AppsCreate, "holds no app")
		}
		switch {
		case inDoubt && errors.Is(err, ErrConflict):
			return nil, unresolved(err)
		case ctx.Err() != nil:
			if inDoubt || !neverSent(err) {
				return nil, unresolved(err)
			}
			return nil, err
		case errors.Is(err, ErrUnexpectedAnswer), classifyFailure(ctx, opFacts(ops.AppsCreate), err) == ambiguous:
			inDoubt = true // resent with the same key: the API answers with the app if it made it
			if attempt == cfg.attempts {
				return nil, unresolved(err)
			}
		default:
			if inDoubt {
				return nil, unresolved(err)
			}
			return nil, err
		}
	}
	panic("unreachable")
}

// randomID is 16 random hex characters.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
