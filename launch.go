package flymachines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"

	"golang.org/x/sync/singleflight"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// LaunchIDKey is the metadata key CreateMachine stamps on every Machine it
// creates, so that after an ambiguous failure it can find the Machine the
// API may have created anyway.
const LaunchIDKey = "flymachines_launch_id"

// DefaultLaunchWindow is how long CreateMachine allows the API's Machine
// list to lag behind a create (WithLaunchWindow): a create that failed
// ambiguously is sent again only once a list made at least this long after
// the failure shows no Machine with its launch id.
const DefaultLaunchWindow = 5 * time.Second

// How the launch id is looked up, and how long a client remembers launches.
const (
	lookupFirstPause = 250 * time.Millisecond
	lookupMaxPause   = 2 * time.Second
	launchMemory     = time.Hour
	maxLaunches      = 10_000
)

// ErrCreateUnresolved is matched by a *CreateUnresolvedError: a create that
// may or may not have taken effect.
var ErrCreateUnresolved = errors.New("flymachines: the create may or may not have taken effect")

// CreateUnresolvedError is a create that failed in a way that leaves open
// whether it took effect (a lost connection, a 408 or 5xx, an unusable
// answer, the context ending mid-call) and that could not be settled: the
// launch id could not be looked up, or CreateApp's retry found the name
// taken, possibly by its own first attempt. Nothing was sent twice.
//
// To settle it later, call CreateMachine again with WithLaunchID(LaunchID)
// (it returns the Machine if one has the launch id, else creates it), or
// CreateApp with the same IdempotencyKey.
type CreateUnresolvedError struct {
	Op             string // "Machines_create" or "Apps_create"
	App            string // the app the Machine is in, or the app being created
	LaunchID       string // CreateMachine's launch id (metadata LaunchIDKey)
	IdempotencyKey string // CreateApp's idempotency key
	Err            error  // the create's own failure
	LookupErr      error  // why the lookup could not settle it; nil for CreateApp

	since time.Time // when the create first failed ambiguously
}

func (e *CreateUnresolvedError) Error() string {
	var b strings.Builder
	if e.Op == ops.AppsCreate {
		fmt.Fprintf(&b, "flymachines: creating app %s: it may exist, created by this call (idempotency key %s) or by someone else: %v", e.App, e.IdempotencyKey, e.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "flymachines: creating a machine in %s: it may exist (launch id %s)", e.App, e.LaunchID)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.LookupErr != nil {
		fmt.Fprintf(&b, "; could not look it up: %v", e.LookupErr)
	}
	return b.String()
}

// Unwrap gives ErrCreateUnresolved, the create's failure and the lookup's.
func (e *CreateUnresolvedError) Unwrap() []error {
	out := []error{ErrCreateUnresolved}
	for _, err := range []error{e.Err, e.LookupErr} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// launches is what a client remembers of CreateMachine calls with a launch
// id: the Machine each made, or since when one is in doubt, so that a
// repeat is answered without a second create even where the API's list
// lags. Concurrent calls with one launch id share one create.
type launches struct {
	flight singleflight.Group
	mu     sync.Mutex
	book   *recent[string, launchRecord]
}

type launchRecord struct {
	machine      *models.Machine // the Machine it made; nil while in doubt
	inDoubtSince time.Time       // when a create of it failed ambiguously, unsettled
}

func newLaunches() *launches {
	return &launches{book: newRecent[string, launchRecord](maxLaunches)}
}

func launchKey(app, launchID string) string { return app + "\x00" + launchID }

func (l *launches) recall(key string) (launchRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.book.get(key, time.Now())
}

func (l *launches) remember(key string, r launchRecord) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.book.put(key, r, now.Add(launchMemory), now)
}

// lookupLaunch lists the app's Machines, destroyed ones included (one with
// auto_destroy may be gone already), for the launch id. It returns the
// oldest Machine that has it, or nil when the list has none.
func (c *Client) lookupLaunch(ctx context.Context, app, launchID string) (*models.Machine, error) {
	found, err := c.Machines.List(ctx, app, &machines.ListParams{
		IncludeDeleted: true,
		Metadata:       map[string]string{LaunchIDKey: launchID},
	})
	if err != nil {
		return nil, err
	}
	var first *models.Machine
	for _, m := range found {
		if m == nil || m.ID == "" || !hasLaunchID(m, launchID) {
			continue
		}
		if first == nil || createdBefore(m, first) {
			first = m
		}
	}
	return first, nil
}

// hasLaunchID: the Machine's own metadata says it is the launch's, not only
// the list's filter (which an API version could ignore).
func hasLaunchID(m *models.Machine, launchID string) bool {
	for _, conf := range []*models.FlyMachineConfig{m.Config, m.IncompleteConfig} {
		if conf != nil && conf.Metadata[LaunchIDKey] == launchID {
			return true
		}
	}
	return false
}

func createdBefore(a, b *models.Machine) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a.CreatedAt)
	tb, errB := time.Parse(time.RFC3339Nano, b.CreatedAt)
	if errA != nil || errB != nil {
		return a.CreatedAt < b.CreatedAt
	}
	return ta.Before(tb)
}

// settleLaunch finds out whether a create with launchID took effect, after
// a failure at since that leaves it open. It looks the launch id up until
// a lookup finds the Machine (returned), or a lookup made at least window
// after since completes without it: then the create did not take effect
// ((nil, nil)). A lookup that fails is tried again, until window has passed
// since the later of the window's end and this call: then, or when ctx
// ends, the last failure is returned.
func (c *Client) settleLaunch(ctx context.Context, app, launchID string, since time.Time, window time.Duration) (*models.Machine, error) {
	decideFrom := since.Add(window)
	giveUp := later(decideFrom, time.Now()).Add(window)
	pause := time.Duration(0)
	for {
		if err := sleepCtx(ctx, pause); err != nil {
			return nil, err
		}
		started := time.Now()
		m, err := c.lookupLaunch(ctx, app, launchID)
		switch {
		case err == nil && m != nil:
			return m, nil
		case err == nil && !started.Before(decideFrom):
			return nil, nil
		case err != nil && (ctx.Err() != nil || !time.Now().Before(giveUp)):
			return nil, err
		}
		pause = min(max(2*pause, lookupFirstPause), lookupMaxPause)
		if untilDecision := time.Until(decideFrom); err == nil && untilDecision > 0 {
			// Found nothing, too early to tell: look again, at the latest
			// when a lookup can decide.
			pause = min(pause, untilDecision)
		}
	}
}

// cloneMachine is a deep copy, so callers sharing one create do not share
// one value.
func cloneMachine(m *models.Machine) *models.Machine {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var cp models.Machine
	if json.Unmarshal(b, &cp) != nil {
		return m
	}
	return &cp
}
