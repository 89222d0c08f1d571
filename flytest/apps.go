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
			writeJSON(w, http.StatusCreated, models.CreateAppResponse{ID: a.id, CreatedAt: a.createdAt.UnixMilli()})
			return
		}
		writeError(w, http.StatusUnprocessableEntity, string(models.MainStatusCodeNameTaken), "app name "+req.Name+" is already taken")
		return
	}
	a := &app{
		id: randomHex(8), name: req.Name, org: req.OrgSlug, network: req.Network,
		num: e.st.newNum(), createdAt: now, idempotencyKey: req.IdempotencyKey,
		machines: map[string]*machine{}, volumes: map[string]*volume{},
		secrets: map[string]*secret{}, secretKeys: map[string]*secretKey{},
		certs: map[string]*certificate{},
	}
	e.st.apps[a.name] = a
	writeJSON(w, http.StatusCreated, models.CreateAppResponse{ID: a.id, CreatedAt: now.UnixMilli()})
}

func (e *Emulator) appsShow(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, a.model())
}

func (e *Emulator) appsList(w http.ResponseWriter, r *http.Request) {
	org := r.URL.Query().Get("org_slug")
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
	var apps []*models.App
	for _, a := range e.st.apps {
		if a.org == org {
			apps = append(apps, a.model())
		}
	}
	slices.SortFunc(apps, func(x, y *models.App) int { return strings.Compare(x.Name, y.Name) })
	page, next := paginate(apps, limit, offset)
	writeJSON(w, http.StatusOK, models.ListAppsResponse{Apps: page, NextCursor: next, TotalApps: int64(len(apps))})
}

func (e *Emulator) appsDelete(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	if !force {
		for _, m := range a.machines {
			if m.running() {
				writeError(w, http.StatusConflict, "", "app "+a.name+" has running machines: stop them first or delete with force=true")
				return
			}
		}
	}
	for _, m := range a.machines {
		m.closeWaiters()
	}
	delete(e.st.apps, a.name)
	w.WriteHeader(http.StatusAccepted)
}

// lookupApp finds the app named by the {app_name} path parameter, or answers
// 404 the way the API does. Call with e.mu held.
func (e *Emulator) lookupApp(w http.ResponseWriter, r *http.Request) *app {
	name := r.PathValue("app_name")
	a := e.st.apps[name]
	if a == nil {
		notFound(w, "Could not find App %q", name)
	}
	return a
}

func (a *app) model() *models.App {
	return &models.App{
		ID:                a.id,
		Name:              a.name,
		Network:           a.network,
		InternalNumericID: a.num,
		MachineCount:      int64(len(a.machines)),
		VolumeCount:       int64(len(a.volumes)),
		Status:            "deployed",
		Organization:      &models.AppOrganizationInfo{Name: a.org, Slug: a.org},
	}
}
