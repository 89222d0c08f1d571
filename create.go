package flymachines

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// LaunchIDKey is the metadata key CreateMachine stamps on every Machine it
// creates, so that after an ambiguous failure it can find the Machine the
// API may have created anyway.
const LaunchIDKey = "flymachines_launch_id"

// CreateOption configures CreateMachine and CreateApp.
type CreateOption func(*createConfig)

type createConfig struct {
	launchID    string
	regions     []string
	attempts    int
	lookups     int
	lookupDelay time.Duration
}

func defaultCreateConfig() createConfig {
	return createConfig{attempts: 3, lookups: 3, lookupDelay: 200 * time.Millisecond}
}

// WithLaunchID sets the launch id (by default a random one), e.g. to make a
// create that a restarted program repeats find the Machine of its first run.
func WithLaunchID(id string) CreateOption { return func(c *createConfig) { c.launchID = id } }

// WithRegionFallback tries these regions, in order, when the API has no
// capacity for the Machine in the region asked for.
func WithRegionFallback(regions ...string) CreateOption {
	return func(c *createConfig) { c.regions = append(c.regions, regions...) }
}

// WithCreateAttempts bounds how many times a create is sent after
// ambiguous failures (default 3).
func WithCreateAttempts(n int) CreateOption {
	return func(c *createConfig) { c.attempts = max(n, 1) }
}

// WithLaunchLookup sets how often, and how far apart at first (the delay
// doubles each time), the Machine list is searched for the launch id after
// an ambiguous failure, to allow for a list that lags behind a create
// (default 3 times from 200ms).
func WithLaunchLookup(times int, firstDelay time.Duration) CreateOption {
	return func(c *createConfig) { c.lookups, c.lookupDelay = max(times, 1), firstDelay }
}

// CreateMachine creates a Machine in app and returns it, never two: it
// stamps a launch id into the Machine's metadata (LaunchIDKey), and after an
// ambiguous failure (a 408, a gateway 5xx, a lost connection: the API may
// have created the Machine) it looks for a Machine with that id before
// sending the create again, returning the one that exists. The search
// includes destroyed Machines, since one with auto_destroy may be gone
// already. With WithRegionFallback, a capacity error moves on to the next
// region. req is not modified.
func (c *Client) CreateMachine(ctx context.Context, app string, req *models.CreateMachineRequest, opts ...CreateOption) (*models.Machine, error) {
	cfg := defaultCreateConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if req == nil || req.Config == nil || req.Config.Image == "" {
		return nil, &ValidationError{Op: "Machines_create", Err: errors.New("a machine needs a config with an image")}
	}
	if cfg.launchID == "" {
		cfg.launchID = randomID()
	}
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
		m, err := c.createOnce(ctx, app, &body, cfg)
		if err == nil || !errors.Is(err, ErrCapacity) || i == len(regions)-1 {
			return m, err
		}
		c.logger.LogAttrs(ctx, slog.LevelInfo, "flymachines: no capacity, trying the next region",
			slog.String("app", app), slog.String("region", region), slog.String("next", regions[i+1]))
	}
	panic("unreachable")
}

// createOnce creates the Machine in one region, resolving ambiguous
// failures by looking the launch id up.
func (c *Client) createOnce(ctx context.Context, app string, body *models.CreateMachineRequest, cfg createConfig) (*models.Machine, error) {
	launchID := body.Config.Metadata[LaunchIDKey]
	var lastErr error
	for attempt := 1; attempt <= cfg.attempts; attempt++ {
		params := machines.NewMachinesCreateParamsWithContext(ctx).WithAppName(app).WithBody(body)
		created, err := c.Machines.MachinesCreateContext(ctx, params, nil)
		if err == nil {
			return created.GetPayload(), nil
		}
		if classifyFailure(ctx, "Machines_create", err) != ambiguous {
			return nil, err
		}
		lastErr = err
		c.logger.LogAttrs(ctx, slog.LevelInfo, "flymachines: create may have happened, looking it up",
			slog.String("app", app), slog.String("launch_id", launchID), slog.String("error", err.Error()))
		if m, err := c.findLaunch(ctx, app, launchID, cfg); m != nil || err != nil {
			return m, err
		}
	}
	return nil, fmt.Errorf("flymachines: creating a machine in %s: gave up after %d ambiguous attempts: %w", app, cfg.attempts, lastErr)
}

// findLaunch searches the app's Machines for the launch id, a few times,
// waiting longer each time. It returns (nil, nil) when none turned up, and
// an error only when the caller's context ended.
func (c *Client) findLaunch(ctx context.Context, app, launchID string, cfg createConfig) (*models.Machine, error) {
	delay := cfg.lookupDelay
	for i := range cfg.lookups {
		params := machines.NewMachinesListParamsWithContext(ctx).WithAppName(app).WithIncludeDeleted(conv.Pointer(true))
		found, err := c.Machines.MachinesListContext(ctx, params, nil, MatchMetadata(LaunchIDKey, launchID))
		if err == nil {
			for _, m := range found.GetPayload() {
				if m != nil && m.Config != nil && m.Config.Metadata[LaunchIDKey] == launchID {
					return m, nil
				}
			}
		}
		if i == cfg.lookups-1 {
			break
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, err
		}
		delay *= 2
	}
	return nil, ctx.Err()
}

// CreateApp creates an app, safely retried: it sets an idempotency key (if
// req has none) so the API answers a repeated create with the app the
// first one made, and resends the create after ambiguous failures. Should
// the API answer name_taken to such a resend anyway, the app of that name
// in the same organization is taken to be the one the lost attempt made,
// and its id is returned. req is not modified.
func (c *Client) CreateApp(ctx context.Context, req *models.CreateAppRequest, opts ...CreateOption) (*models.CreateAppResponse, error) {
	cfg := defaultCreateConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if req == nil || req.Name == "" {
		return nil, &ValidationError{Op: "Apps_create", Err: errors.New("an app needs a name")}
	}
	body := *req
	if body.IdempotencyKey == "" {
		body.IdempotencyKey = randomID()
	}
	var lastErr error
	for attempt := 1; attempt <= cfg.attempts; attempt++ {
		created, err := c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParamsWithContext(ctx).WithBody(&body), nil)
		if err == nil {
			return created.GetPayload(), nil
		}
		if attempt > 1 && errors.Is(err, ErrConflict) {
			// An earlier attempt may have created it and the API not
			// honoured the key: the app exists, which is what was asked.
			shown, showErr := c.Apps.AppsShowContext(ctx, apps.NewAppsShowParamsWithContext(ctx).WithAppName(body.Name), nil)
			if showErr == nil && shown.GetPayload() != nil && shown.GetPayload().Organization != nil &&
				(body.OrgSlug == "" || shown.GetPayload().Organization.Slug == body.OrgSlug) {
				return &models.CreateAppResponse{ID: shown.GetPayload().ID}, nil
			}
			return nil, err
		}
		if classifyFailure(ctx, "Apps_create", err) != ambiguous {
			return nil, err
		}
		lastErr = err
		if err := sleepCtx(ctx, cfg.lookupDelay); err != nil {
			return nil, lastErr
		}
	}
	return nil, fmt.Errorf("flymachines: creating app %s: gave up after %d ambiguous attempts: %w", body.Name, cfg.attempts, lastErr)
}

// randomID is 16 random hex characters.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
