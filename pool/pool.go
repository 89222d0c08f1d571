package pool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// Pool is a named pool of Machines in an app, kept stopped while idle and
// shared by every process that opens it with the same app and name: on one
// host or many, with no coordinator but the API. A Machine's lease is the
// lock: a claim holds it, refreshed in the background, and every change to
// the Machine during the claim carries its nonce. A process that dies
// loses its claims when their leases lapse; a sweep then takes back what
// they held.
//
// The Machines are found by their metadata (KeyPool) and made from the
// pool's config, whose hash is their generation (KeyGeneration). A Pool
// only ever claims Machines of its own generation. Of two generations, the
// newer is the one a process adopted last (opened the pool with: New; see
// KeyAdopted). Machines of a newer generation are left alone; those of an
// older one are destroyed by sweeps as they come free. So a new image
// replaces the old Machines as they finish their work, and a process still
// on the old config never destroys the new ones (it creates Machines of
// its own, which the new processes destroy once free: keep a rollout
// short). Rolling back is adopting the old config again: it is then the
// newer.
//
// A Pool is safe for concurrent use.
type Pool struct {
	c       *flymachines.Client
	cfg     Config
	tmpl    *template
	adopted time.Time // when New ran: this Pool's KeyAdopted

	lists singleflight.Group

	mu        sync.Mutex
	snap      snapshot             // the newest list
	hints     []string             // Machines this Pool gave back free, newest last
	held      map[string]bool      // Machines this Pool's claims hold
	recent    map[string]time.Time // Machines this Pool created, until a list shows them
	creating  int                  // creates under way
	listSeq   uint64               // lists asked for so far
	createSeq uint64               // listSeq when the last create ended
	lastSweep time.Time
	sweeping  bool
	drained   bool
	freed     chan struct{} // closed and replaced whenever this Pool frees a Machine
}

// snapshot is one list of the pool's Machines, its number in the order
// this Pool asked for lists, and when it was asked for.
type snapshot struct {
	seq      uint64
	at       time.Time
	machines []*models.Machine // the pool's Machines, read-only
}

// Internal timings.
const (
	// snapshotFresh is how old a list a claim may start from: claims
	// that come together share one list.
	snapshotFresh = 500 * time.Millisecond
	// listTimeout bounds one shared list.
	listTimeout = time.Minute
	// recentFor is how long a created Machine counts towards Max while
	// the list does not show it yet.
	recentFor = time.Minute
	// cleanupTimeout bounds what is done after the caller's context ended:
	// stopping a Machine, giving a lease back.
	cleanupTimeout = 30 * time.Second
)

// New opens the pool cfg describes, in cfg.App, through c. It sends
// nothing: Machines are created as claims need them (or by Sweep, up to
// Min).
func New(c *flymachines.Client, cfg Config) (*Pool, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: no client", ErrConfig)
	}
	cfg, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	adopted := time.Now().Truncate(time.Second)
	tmpl, err := newTemplate(cfg.Name, cfg.Config, adopted)
	if err != nil {
		return nil, err
	}
	cfg.Regions = slices.Clone(cfg.Regions)
	cfg.Config = nil // the template holds it
	return &Pool{
		c: c, cfg: cfg, tmpl: tmpl, adopted: adopted,
		held:   map[string]bool{},
		recent: map[string]time.Time{},
		freed:  make(chan struct{}),
	}, nil
}

// Generation is the generation of this Pool's config: the value of
// KeyGeneration on the Machines it makes.
func (p *Pool) Generation() string { return p.tmpl.generation }

// Name is the pool's name, App its app.
func (p *Pool) Name() string { return p.cfg.Name }

// App is the app the pool's Machines live in.
func (p *Pool) App() string { return p.cfg.App }

// list returns a list of the pool's Machines asked for after list number
// after (see seqNow), or, with maxAge, the newest one if it is no older
// than that; else a new one, shared with whoever else in this Pool wants
// one now.
func (p *Pool) list(ctx context.Context, after uint64, maxAge time.Duration) (snapshot, error) {
	usable := func(s snapshot) bool {
		return s.seq > after || s.seq > 0 && maxAge > 0 && time.Since(s.at) <= maxAge
	}
	for {
		p.mu.Lock()
		s := p.snap
		p.mu.Unlock()
		if usable(s) {
			return s, nil
		}
		ch := p.lists.DoChan("list", func() (any, error) {
			// The shared list outlives a caller that gives up: the
			// others still want it.
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), listTimeout)
			defer cancel()
			return p.fetch(lctx)
		})
		select {
		case <-ctx.Done():
			return snapshot{}, ctx.Err()
		case res := <-ch:
			if res.Err != nil {
				return snapshot{}, res.Err
			}
			if s = res.Val.(snapshot); s.seq > after {
				return s, nil
			}
			// A list asked for too early: ask again.
		}
	}
}

// seqNow is the number of the last list asked for: a list numbered above
// it was asked for after now.
func (p *Pool) seqNow() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listSeq
}

// fetch lists the pool's Machines, page by page, and keeps the list as
// the newest.
func (p *Pool) fetch(ctx context.Context) (snapshot, error) {
	p.mu.Lock()
	p.listSeq++
	s := snapshot{seq: p.listSeq, at: time.Now()}
	p.mu.Unlock()
	params := &machines.ListParams{Metadata: map[string]string{KeyPool: p.cfg.Name}, IncludeLeases: true}
	for pages := 0; ; pages++ {
		var meta call.Meta
		page, err := p.c.Machines.List(ctx, p.cfg.App, params, call.Capture(&meta))
		if err != nil {
			return snapshot{}, fmt.Errorf("listing the pool: %w", err)
		}
		for _, m := range page {
			if memberOf(m, p.cfg.Name) {
				s.machines = append(s.machines, m)
			}
		}
		next := meta.NextCursor()
		if next == "" || next == params.Cursor || pages > 1000 {
			break
		}
		params.Cursor = next
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.seq > p.snap.seq {
		p.snap = s
	}
	for _, m := range s.machines {
		delete(p.recent, m.ID) // listed now: counted from the list
	}
	return s, nil
}

// hold marks a Machine claimed by this Pool; it reports false if it is
// already.
func (p *Pool) hold(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held[id] {
		return false
	}
	p.held[id] = true
	return true
}

// unhold ends this Pool's claim on a Machine; free says it was given back
// free, a hint for the next claim, which tries it before listing.
func (p *Pool) unhold(id string, free bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, id)
	if !free {
		return
	}
	p.hints = append(slices.DeleteFunc(p.hints, func(h string) bool { return h == id }), id)
	if len(p.hints) > p.cfg.Max {
		p.hints = slices.Delete(p.hints, 0, len(p.hints)-p.cfg.Max)
	}
	close(p.freed)
	p.freed = make(chan struct{})
}

// popHint takes the Machine this Pool freed last, if any.
func (p *Pool) popHint() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.hints) > 0 {
		id := p.hints[len(p.hints)-1]
		p.hints = p.hints[:len(p.hints)-1]
		if !p.held[id] {
			return id, true
		}
	}
	return "", false
}

func (p *Pool) isDrained() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.drained
}

// isConflict reports an answer that says someone else got there first:
// the lease is held, the Machine's state does not allow the call, its
// version moved on, or it is gone.
func isConflict(err error) bool {
	return errors.Is(err, flymachines.ErrConflict) || errors.Is(err, flymachines.ErrNotFound) ||
		errors.Is(err, flymachines.ErrLeaseLost)
}
