package flytest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/flymachines/flymachines-go/models"
)

// appNamePattern is what Fly accepts as an app name (it becomes a hostname).
var appNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

func (e *Emulator) appsCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreateAppRequest
	raw, ok := decodeBodyRaw(w, r, &req, false)
	if !ok {
		return
	}
	if req.Name == "" {
		// Fly's API guide sends the older "app_name" key; both are accepted.
		var legacy struct {
			AppName string `json:"app_name"`
		}
		_ = json.Unmarshal(raw, &legacy)
		req.Name = legacy.AppName
	}
	if !appNamePattern.MatchString(req.Name) {
		invalid(w, "app name %q must be 3-63 lowercase letters, digits or dashes", req.Name)
		return
	}
	if req.OrgSlug == "" {
		req.OrgSlug = e.cfg.defaultOrg
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.clock.Now()
	if a, taken := e.st.apps[req.Name]; taken {
		if req.IdempotencyKey != "" && req.IdempotencyKey == a.idempotencyKey {
			writeJSON(w, http.StatusCreated, a.createdAnswer())
			return
		}
		writeError(w, http.StatusUnprocessableEntity, string(models.MainStatusCodeNameTaken), "app name "+req.Name+" is already taken")
		return
	}
	a := &app{
		id: randomHex(8), name: req.Name, org: req.OrgSlug, network: req.Network,
		num: e.st.newNum(), createdAt: now, idempotencyKey: req.IdempotencyKey, role: req.AppRoleID,
		machines: map[string]*machine{}, volumes: map[string]*volume{},
		secrets: map[string]*secret{}, secretKeys: map[string]*secretKey{},
		certs: map[string]*certificate{},
	}
	e.st.apps[a.name] = a
	writeJSON(w, http.StatusCreated, a.createdAnswer())
}

// createdAnswer is what Apps_create answers: the App, as flaps' CreateApp
// reads it (flyctl prints its name and waits for the app under it), and
// created_at, which the spec declares.
func (a *app) createdAnswer() object {
	return a.answer().set("created_at", a.createdAt.UnixMilli())
}

func (e *Emulator) appsShow(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, a.answer())
}

func (e *Emulator) appsList(w http.ResponseWriter, r *http.Request) {
	org, role := r.URL.Query().Get("org_slug"), r.URL.Query().Get("app_role")
	if org == "" {
		invalid(w, "org_slug is required")
		return
	}
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var apps []*app
	for _, a := range e.st.apps {
		if a.org == org && (role == "" || a.role == role) {
			apps = append(apps, a)
		}
	}
	slices.SortFunc(apps, func(x, y *app) int { return strings.Compare(x.name, y.name) })
	page, next := paginate(apps, limit, offset)
	out := make([]object, 0, len(page))
	for _, a := range page {
		out = append(out, a.answer())
	}
	resp := object{}.set("apps", out).set("total_apps", len(apps))
	if next != "" {
		resp.set("next_cursor", next)
	}
	writeJSON(w, http.StatusOK, resp)
}

// appsDelete deletes the app with its Machines, running or not: flyctl's
// apps destroy deletes without stopping them first, and force (which Fly's
// API guide sends) changes nothing.
func (e *Emulator) appsDelete(w http.ResponseWriter, r *http.Request) {
	if _, ok := boolParam(w, r.URL.Query(), "force"); !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.apps[r.PathValue("app_name")]
	if a == nil {
		// The answer Fly's docs show for this call (e02-docs-delete-app-404).
		notFound(w, "Could not find App")
		return
	}
	for _, m := range a.machines {
		m.closeWaiters()
	}
	delete(e.st.apps, a.name)
	w.WriteHeader(http.StatusAccepted)
}

// lookupApp finds the app named by the {app_name} path parameter, or answers
// 404 "app not found", the message flaps' AppNameAvailable compares the
// answer of Apps_show with to tell a free name. Call with e.mu held.
func (e *Emulator) lookupApp(w http.ResponseWriter, r *http.Request) *app {
	a := e.st.apps[r.PathValue("app_name")]
	if a == nil {
		notFound(w, "app not found")
	}
	return a
}

func (a *app) model() *models.App {
	network := a.network
	if network == "" {
		network = "default" // what a03-docs-apps-list shows for an app created without one
	}
	return &models.App{
		ID:                a.id,
		Name:              a.name,
		Network:           network,
		InternalNumericID: a.num,
		MachineCount:      int64(a.liveMachines()),
		VolumeCount:       int64(len(a.volumes)),
		Status:            a.status(),
		Organization:      &models.AppOrganizationInfo{Name: a.org, Slug: a.org},
	}
}

// answer is the App as the API sends it, with its role (app_role_id at
// create), which fly-go reads as app_role and Apps_list filters on.
func (a *app) answer() object {
	o := appAnswer(a.model())
	if a.role != "" {
		o.set("app_role", a.role)
	}
	return o
}

// liveMachines counts the app's Machines that are not destroyed.
func (a *app) liveMachines() int {
	n := 0
	for _, m := range a.machines {
		if m.state != stateDestroyed {
			n++
		}
	}
	return n
}

// status is "pending" until the app has a Machine, then "deployed": what
// Fly shows (a02-docs-app-show.json is a new app, "pending") and what
// fly-go's App.Deployed reads.
func (a *app) status() string {
	if a.liveMachines() == 0 {
		return "pending"
	}
	return "deployed"
}
