package flytest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Bounds on what one Machine remembers, so long runs stay small.
const (
	maxEvents         = 100 // newest events kept per Machine
	maxVersions       = 50  // newest config versions kept per Machine
	eventsInMachine   = 10  // newest events embedded in a Machine body
	destroyedKeep     = time.Hour
	maxDestroyedInApp = 500
)

// machine is one Machine's state. It is guarded by Emulator.mu.
type machine struct {
	seq       int64 // creation order: the list cursor
	appName   string
	id, name  string
	region    string
	privateIP string
	createdAt time.Time
	updatedAt time.Time

	state      string
	stateEvent *event // the event that set state: what wait reports
	cordoned   bool
	config     *models.FlyMachineConfig // current version's config
	version    string                   // current version; instance_id is the same
	versions   []machineVersion         // oldest first, current last
	events     []*event                 // oldest first
	lease      *lease
	restarts   int // restarts by policy since the last user command
	mem        memoryState
	destroyed  time.Time

	changed   chan struct{}    // closed and replaced on every change, for wait
	pending   map[int]func()   // cancels of scheduled transitions
	nextTimer int              // key of the next entry in pending
	gone      bool             // its app was deleted or the emulator closed
	imageRef  *models.ImageRef // resolved from config.image
	checks    []*models.CheckStatus
}

type machineVersion struct {
	version string
	config  *models.FlyMachineConfig
}

func newMachine() *machine {
	return &machine{changed: make(chan struct{}), pending: map[int]func(){}}
}

// running reports whether the machine is in a state that holds resources
// (anything but stopped, suspended, failed or destroyed).
func (m *machine) running() bool {
	switch m.state {
	case stateStopped, stateSuspended, stateFailed, stateDestroyed:
		return false
	}
	return true
}

// mountsVolume reports whether the machine's config mounts volume id. A
// destroyed Machine mounts nothing: its volumes are free again.
func (m *machine) mountsVolume(id string) bool {
	if m.state == stateDestroyed || m.config == nil {
		return false
	}
	for _, mt := range m.config.Mounts {
		if mt != nil && mt.Volume == id {
			return true
		}
	}
	return false
}

// closeWaiters wakes every wait blocked on the machine and cancels its
// scheduled transitions: it is called when the machine goes away with its
// app, or when the emulator closes.
func (m *machine) closeWaiters() {
	m.gone = true
	m.cancelPending()
	m.broadcast()
}

// broadcast wakes every wait blocked on the machine.
func (m *machine) broadcast() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// setConfig makes cfg (already normalized and owned) the current version.
func (m *machine) setConfig(cfg *models.FlyMachineConfig, version string) {
	m.config, m.version = cfg, version
	m.imageRef = imageRef(cfg.Image)
	m.versions = append(m.versions, machineVersion{version: version, config: cfg})
	if len(m.versions) > maxVersions {
		m.versions = slices.Delete(m.versions, 0, len(m.versions)-maxVersions)
	}
}

// versionConfig returns the config of an earlier or the current version.
func (m *machine) versionConfig(version string) (*models.FlyMachineConfig, bool) {
	for _, v := range m.versions {
		if v.version == version {
			return v.config, true
		}
	}
	return nil, false
}

// lookupMachine finds {machine_id} in {app_name}, or answers 404 the way
// the API does. Destroyed Machines are found. Call with e.mu held.
func (e *Emulator) lookupMachine(w http.ResponseWriter, r *http.Request) *machine {
	a := e.lookupApp(w, r)
	if a == nil {
		return nil
	}
	m := a.machines[r.PathValue("machine_id")]
	if m == nil {
		notFound(w, "machine not found")
	}
	return m
}

// mutableMachine is lookupMachine for operations that change a Machine: a
// destroyed one answers 404 (so repeating a destroy reads as done), and a
// lease held by someone else answers 409. Call with e.mu held.
func (e *Emulator) mutableMachine(w http.ResponseWriter, r *http.Request) *machine {
	m := e.lookupMachine(w, r)
	if m == nil {
		return nil
	}
	if m.state == stateDestroyed {
		notFound(w, "machine %s has been destroyed", m.id)
		return nil
	}
	if !e.checkLease(w, r, m) {
		return nil
	}
	return m
}

func preconditionFailed(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusPreconditionFailed, "", "failed_precondition: "+fmt.Sprintf(format, args...))
}

// modelOptions say how much of a Machine a body shows.
type modelOptions struct {
	summary      bool   // no config, events or checks (list summary=true)
	includeLease bool   // the lease holder, without the nonce
	version      string // an earlier version's config instead of the current one
}

func (e *Emulator) machineModel(m *machine, o modelOptions) *models.Machine {
	out := &models.Machine{
		ID:           m.id,
		Name:         m.name,
		State:        m.state,
		Region:       m.region,
		InstanceID:   m.version,
		Version:      m.version,
		PrivateIP:    m.privateIP,
		CreatedAt:    formatTime(m.createdAt),
		UpdatedAt:    formatTime(m.updatedAt),
		Cordoned:     m.cordoned,
		HostStatus:   models.MachineHostStatusOk,
		ImageRef:     m.imageRef,
		HostFeatures: []string{},
		Checks:       []*models.CheckStatus{},
		Events:       []*models.MachineEvent{},
	}
	if o.version != "" {
		out.Version, out.InstanceID = o.version, o.version
	}
	if o.includeLease {
		if l := e.activeLease(m); l != nil {
			out.Lease = &models.StrippedLease{Owner: l.owner, Description: l.description, ExpiresAt: l.expiresAt.Unix()}
		}
	}
	if o.summary {
		out.IncompleteConfig = &models.FlyMachineConfig{Image: m.config.Image, Metadata: m.config.Metadata, Guest: m.config.Guest}
		out.Checks, out.Events = nil, nil
		return out
	}
	out.Config = m.config
	if o.version != "" {
		out.Config, _ = m.versionConfig(o.version)
	}
	if m.state == stateStarted {
		out.Checks = m.checks
	}
	for i := len(m.events) - 1; i >= 0 && len(out.Events) < eventsInMachine; i-- {
		out.Events = append(out.Events, m.events[i].model)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkStatuses reports every configured check as passing: the emulator
// runs no checks, and a started Machine is healthy.
func checkStatuses(c *models.FlyMachineConfig, now time.Time) []*models.CheckStatus {
	out := []*models.CheckStatus{}
	for name := range c.Checks {
		out = append(out, &models.CheckStatus{Name: name, Status: "passing", Output: "Success", UpdatedAt: formatTime(now)})
	}
	slices.SortFunc(out, func(a, b *models.CheckStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (e *Emulator) machinesCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreateMachineRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	cfg, ok := checkMachineRequest(w, req.Config, req.Name, req.LeaseTTL)
	if !ok {
		return
	}
	region := req.Region
	if region == "" {
		region = e.cfg.defaultRegion
	}
	if !slices.Contains(e.cfg.regions, region) {
		invalid(w, "region %q is not a Fly.io region", region)
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		a := e.lookupApp(w, r)
		if a == nil {
			return
		}
		now := e.cfg.clock.Now()
		e.pruneDestroyed(a, now)
		if e.noCapacity[region] {
			writeError(w, http.StatusPreconditionFailed, string(models.MainStatusCodeInsufficientCapacity),
				"insufficient resources to create new machine in region "+region+": no host has room for "+guestLabel(cfg.Guest))
			return
		}
		if req.Name != "" {
			for _, other := range a.machines {
				if other.name == req.Name && other.state != stateDestroyed {
					writeError(w, http.StatusUnprocessableEntity, string(models.MainStatusCodeNameTaken),
						"a machine named "+req.Name+" already exists in app "+a.name)
					return
				}
			}
		}
		m := newMachine()
		m.seq = e.st.newSeq()
		m.appName = a.name
		for m.id == "" || a.machines[m.id] != nil {
			m.id = newMachineID()
		}
		m.name = req.Name
		if m.name == "" {
			m.name = newName()
		}
		m.region, m.privateIP = region, newPrivateIP()
		m.createdAt, m.updatedAt = now, now
		m.setConfig(cfg, newULID(now))
		m.checks = checkStatuses(cfg, now)
		a.machines[m.id] = m

		var nonce string
		if req.LeaseTTL > 0 {
			nonce = e.grantLease(m, r, time.Duration(req.LeaseTTL)*time.Second, "").nonce
		}
		if req.SkipLaunch {
			e.transition(m, stateStopped, "launch", sourceUser, nil)
		} else {
			e.transition(m, stateCreated, "launch", sourceUser, nil)
			e.later(m, e.cfg.transitionDelay, func() { e.launch(m, "start", sourceFlyd) })
		}
		out := e.machineModel(m, modelOptions{})
		out.Nonce = nonce
		writeJSON(w, http.StatusOK, machineAnswer(out))
	})
}

func guestLabel(g *models.FlyMachineGuest) string {
	return strconv.FormatInt(g.Cpus, 10) + " " + g.CPUKind + " CPU(s) and " + strconv.FormatInt(g.MemoryMb, 10) + " MB"
}

// pruneDestroyed forgets destroyed Machines after destroyedKeep, and the
// oldest beyond maxDestroyedInApp, so destroyed ones do not pile up. It
// costs nothing unless there is something to forget.
func (e *Emulator) pruneDestroyed(a *app, now time.Time) {
	n := 0
	for n < len(a.destroyed) && (now.Sub(a.destroyed[n].destroyed) > destroyedKeep || len(a.destroyed)-n > maxDestroyedInApp) {
		if m := a.destroyed[n]; a.machines[m.id] == m {
			delete(a.machines, m.id)
		}
		n++
	}
	if n > 0 {
		a.destroyed = slices.Delete(a.destroyed, 0, n)
	}
}

func (e *Emulator) machinesShow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	includeLease, ok := boolParam(w, q, "include_leases")
	if !ok {
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		o := modelOptions{includeLease: includeLease}
		if v := q.Get("version"); v != "" && v != m.version {
			if _, known := m.versionConfig(v); !known {
				notFound(w, "machine %s has no version %s", m.id, v)
				return
			}
			o.version = v
		}
		writeJSON(w, http.StatusOK, machineAnswer(e.machineModel(m, o)))
	})
}

// machineFilter is what Machines_list and Machines_org_list filter on.
type machineFilter struct {
	includeDeleted bool
	region         string
	states         map[string]bool   // empty: any state
	metadata       map[string]string // metadata.{key}=value, all must match
	updatedAfter   time.Time         // org list only
}

func (f *machineFilter) match(m *machine) bool {
	if m.state == stateDestroyed && !f.includeDeleted {
		return false
	}
	if f.region != "" && m.region != f.region {
		return false
	}
	if len(f.states) > 0 && !f.states[m.state] {
		return false
	}
	for k, v := range f.metadata {
		if got, ok := m.config.Metadata[k]; !ok || got != v {
			return false
		}
	}
	return f.updatedAfter.IsZero() || m.updatedAt.After(f.updatedAfter)
}

// parseFilter reads the filters shared by both lists. On a bad value it
// has answered 400.
func parseFilter(w http.ResponseWriter, q map[string][]string) (machineFilter, bool) {
	f := machineFilter{region: first(q["region"]), metadata: map[string]string{}, states: map[string]bool{}}
	var ok bool
	if f.includeDeleted, ok = boolParam(w, q, "include_deleted"); !ok {
		return f, false
	}
	for _, s := range splitList(q["state"]) {
		if !knownStates[s] {
			invalid(w, "state %q is not a Machine state", s)
			return f, false
		}
		f.states[s] = true
	}
	for k, vs := range q {
		if key, isMeta := strings.CutPrefix(k, "metadata."); isMeta && len(vs) > 0 {
			f.metadata[key] = vs[0]
		}
	}
	return f, true
}

func (e *Emulator) machinesList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, ok := parseFilter(w, q)
	if !ok {
		return
	}
	summary, ok := boolParam(w, q, "summary")
	if !ok {
		return
	}
	includeLeases, ok := boolParam(w, q, "include_leases")
	if !ok {
		return
	}
	limit, after, ok := pageParams(w, r)
	if !ok {
		return
	}
	paged := q.Has("limit") || q.Has("cursor")
	e.locked(w, func(w http.ResponseWriter) {
		a := e.lookupApp(w, r)
		if a == nil {
			return
		}
		now := e.cfg.clock.Now()
		e.pruneDestroyed(a, now)
		var ms []*machine
		for _, m := range a.machines {
			if m.seq > int64(after) && f.match(m) && !e.listLagging(m, now) {
				ms = append(ms, m)
			}
		}
		slices.SortFunc(ms, func(x, y *machine) int { return compareInt(x.seq, y.seq) })
		if paged && len(ms) > limit {
			ms = ms[:limit]
			w.Header().Set("fly-next-cursor", seqCursor(ms[len(ms)-1].seq))
		}
		out := make([]object, 0, len(ms))
		for _, m := range ms {
			out = append(out, machineAnswer(e.machineModel(m, modelOptions{summary: summary, includeLease: includeLeases})))
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// seqCursor is the cursor after the Machine with sequence seq. It reads
// back through pageParams; keying on the sequence rather than an offset
// keeps pages stable while Machines come and go.
func seqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

func (e *Emulator) machinesOrgList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, ok := parseFilter(w, q)
	if !ok {
		return
	}
	summary, ok := boolParam(w, q, "summary")
	if !ok {
		return
	}
	if s := q.Get("updated_after"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			invalid(w, "updated_after %q is not an RFC 3339 time", s)
			return
		}
		f.updatedAfter = t
	}
	limit := maxPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			invalid(w, "limit must be a non-negative integer, got %q", s)
			return
		}
		if n > 0 && n < limit {
			limit = n
		}
	}
	var cur orgCursor
	if s := q.Get("cursor"); s != "" {
		if cur, ok = parseOrgCursor(s); !ok {
			invalid(w, "cursor %q is not one this server issued", s)
			return
		}
	}
	org := r.PathValue("org_slug")
	e.locked(w, func(w http.ResponseWriter) {
		var ms []*machine
		for _, a := range e.st.apps {
			if a.org != org {
				continue
			}
			for _, m := range a.machines {
				if f.match(m) && cur.before(m) {
					ms = append(ms, m)
				}
			}
		}
		// Oldest change first, so a client can sync with updated_after.
		slices.SortFunc(ms, func(x, y *machine) int {
			if c := x.updatedAt.Compare(y.updatedAt); c != 0 {
				return c
			}
			return strings.Compare(x.id, y.id)
		})
		resp := models.OrgMachinesResponse{ErrorRegions: []string{}, Machines: []*models.OrgMachine{}}
		if len(ms) > limit {
			ms = ms[:limit]
			last := ms[len(ms)-1]
			resp.NextCursor = orgCursor{updated: last.updatedAt, id: last.id}.String()
		}
		for _, m := range ms {
			om := &models.OrgMachine{
				AppName: m.appName, ID: m.id, Name: m.name, State: m.state, Region: m.region,
				PrivateIP: m.privateIP, Version: m.version,
				CreatedAt: formatTime(m.createdAt), UpdatedAt: formatTime(m.updatedAt),
			}
			if !summary {
				om.Config = &models.MachineOverviewConfig{Image: m.config.Image, Guest: m.config.Guest, Metadata: m.config.Metadata}
			}
			resp.Machines = append(resp.Machines, om)
		}
		if n := len(ms); n > 0 {
			resp.LastMachineID, resp.LastUpdatedAt = ms[n-1].id, formatTime(ms[n-1].updatedAt)
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// orgCursor is a position in the org list: after (updated, id).
type orgCursor struct {
	updated time.Time
	id      string
}

func (c orgCursor) before(m *machine) bool {
	if c.id == "" {
		return true
	}
	if d := m.updatedAt.Compare(c.updated); d != 0 {
		return d > 0
	}
	return m.id > c.id
}

func (c orgCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.updated.UnixNano(), 10) + "/" + c.id))
}

func parseOrgCursor(s string) (orgCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return orgCursor{}, false
	}
	ns, id, ok := strings.Cut(string(raw), "/")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return orgCursor{}, false
	}
	return orgCursor{updated: time.Unix(0, n), id: id}, true
}

func (e *Emulator) machinesUpdate(w http.ResponseWriter, r *http.Request) {
	var req models.UpdateMachineRequest
	ok := decodeBody(w, r, &req, false)
	if !ok {
		return
	}
	cfg, ok := checkMachineRequest(w, req.Config, req.Name, req.LeaseTTL)
	if !ok {
		return
	}
	// skip_launch=false must be told apart from no skip_launch at all: only
	// the explicit false starts a stopped Machine (the model has a *bool).
	skipLaunch := boolOr(req.SkipLaunch, false)
	launch := req.SkipLaunch != nil && !*req.SkipLaunch
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		if m.state == stateDestroying {
			preconditionFailed(w, "machine %s is being destroyed", m.id)
			return
		}
		if req.CurrentVersion != "" && req.CurrentVersion != m.version {
			writeError(w, http.StatusConflict, "", "failed_precondition: current_version "+req.CurrentVersion+
				" does not match machine version "+m.version+": the machine changed since it was read")
			return
		}
		if req.Region != "" && req.Region != m.region {
			invalid(w, "a machine cannot move from region %s to %s; create a new one instead", m.region, req.Region)
			return
		}
		now := e.cfg.clock.Now()
		if req.Name != "" {
			m.name = req.Name
		}
		m.cancelPending()
		m.restarts = 0
		m.setConfig(cfg, newULID(now))
		m.checks = checkStatuses(cfg, now)
		var nonce string
		if req.LeaseTTL > 0 && e.activeLease(m) == nil {
			nonce = e.grantLease(m, r, time.Duration(req.LeaseTTL)*time.Second, "").nonce
		}
		e.replace(m, skipLaunch, launch)
		out := e.machineModel(m, modelOptions{})
		out.Nonce = nonce
		writeJSON(w, http.StatusOK, machineAnswer(out))
	})
}

// machinesDelete destroys a Machine. A running one needs force=true (Fly's
// API guide) or kill=true (what flaps' Destroy sends, and flyctl's machine
// destroy --force sets): both kill it first.
func (e *Emulator) machinesDelete(w http.ResponseWriter, r *http.Request) {
	force, ok := boolParam(w, r.URL.Query(), "force")
	if !ok {
		return
	}
	kill, ok := boolParam(w, r.URL.Query(), "kill")
	if !ok {
		return
	}
	force = force || kill
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		switch {
		case m.state == stateDestroying:
			// Already on its way: answering OK keeps a repeated destroy harmless.
		case m.running() && !force:
			preconditionFailed(w, "unable to destroy machine %s in state %s: stop it first, or destroy with kill=true", m.id, m.state)
			return
		default:
			e.destroy(m, sourceUser, destroyRequest{Force: force})
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

type destroyRequest struct {
	Force bool `json:"force"`
}

func (e *Emulator) machinesListVersions(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		out := make([]object, 0, len(m.versions))
		for i := len(m.versions) - 1; i >= 0; i-- {
			v := objectOf(&models.MachineVersion{Version: m.versions[i].version, UserConfig: m.versions[i].config})
			if raw, ok := v["user_config"]; ok {
				v["user_config"] = configWire(raw)
			}
			out = append(out, v)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// boolParam reads an optional boolean query parameter. On a bad value it
// has answered 400.
//
// A parameter given bare (?include_deleted, or include_deleted= with an
// empty value) reads as true: it is a flag the caller set. flaps' List
// takes its query as a raw fragment, so "include_deleted" is what a caller
// of it writes; silently reading that as false is the one answer that is
// certainly wrong. Go's strconv.ParseBool refuses "", so a strict Go
// server would answer 400 rather than false; reading the flag as set
// serves the caller's intent and never hides what was asked for.
func boolParam(w http.ResponseWriter, q map[string][]string, name string) (bool, bool) {
	vs, present := q[name]
	if !present {
		return false, true
	}
	s := first(vs)
	if s == "" {
		return true, true
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		invalid(w, "%s must be true or false, got %q", name, s)
		return false, false
	}
	return b, true
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// splitList reads a parameter given repeated, comma-separated, or both.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkMachineRequest checks what create and update requests share and
// returns a normalized copy of the config. On failure it has answered 400.
func checkMachineRequest(w http.ResponseWriter, config *models.FlyMachineConfig, name string, leaseTTL int64) (*models.FlyMachineConfig, bool) {
	if config == nil {
		invalid(w, "config is required, with at least config.image")
		return nil, false
	}
	cfg := cloneConfig(config)
	if err := normalizeConfig(cfg); err != nil {
		invalid(w, "%v", err)
		return nil, false
	}
	if name != "" && !machineNamePattern.MatchString(name) {
		invalid(w, "machine name %q must be 1-63 lowercase letters, digits or dashes", name)
		return nil, false
	}
	if leaseTTL < 0 {
		invalid(w, "lease_ttl must not be negative")
		return nil, false
	}
	return cfg, true
}
