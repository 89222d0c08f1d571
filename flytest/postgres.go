package flytest

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/models"
)

// Managed Postgres clusters live outside apps, in state.postgres by id. A
// new cluster (created, forked or restored) is "creating", then
// "initializing", then "ready", one transition delay apart; a deleted one
// is "deleting", then "deleted", and stays visible (list with
// include_deleted, show) while its operations answer 410 or 404.

// pgPlan is the machine size behind a plan.
type pgPlan struct {
	cpuKind  string
	cpus     int64
	memoryMB int64
	replicas int64
}

var pgPlans = map[string]pgPlan{
	models.PostgresClusterPlanBasic:       {models.PostgresClusterCPUKindShared, 2, 1024, 0},
	models.PostgresClusterPlanStarter:     {models.PostgresClusterCPUKindShared, 2, 2048, 0},
	models.PostgresClusterPlanLaunch:      {models.PostgresClusterCPUKindPerformance, 2, 8192, 1},
	models.PostgresClusterPlanScale:       {models.PostgresClusterCPUKindPerformance, 4, 32768, 1},
	models.PostgresClusterPlanPerformance: {models.PostgresClusterCPUKindPerformance, 8, 65536, 1},
}

// Defaults of a new cluster, and what every cluster starts with.
const (
	pgDefaultVersion  = "17"
	pgDefaultPoolMode = "transaction"
	pgDefaultDiskGB   = 10
	pgDefaultUser     = "fly-user"
	pgDefaultDatabase = "fly-db"
	pgPort            = 5432
	// pgDomain is under .invalid, so that no client can reach a real host.
	pgDomain = "flympg.invalid"
)

// pgCluster is one Managed Postgres cluster. Guarded by Emulator.mu.
type pgCluster struct {
	id, name, org, region   string
	plan, version, poolMode string
	diskGB                  int64
	postgis                 bool
	status                  string
	createdAt, deletedAt    time.Time
	databases               map[string]*pgDatabase
	users                   map[string]*pgUser
	backups                 []*pgBackup
	attachments             map[string]time.Time // app name → attached at
}

func (e *Emulator) postgresCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreatePostgresClusterRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	region := *req.Region
	if !e.regionKnown(region) || !regionOf(region).mpg {
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("Managed Postgres is not offered in region %q", region))
		return
	}
	if req.Name != "" && !appNamePattern.MatchString(req.Name) {
		invalid(w, "cluster name %q must be 3-63 lowercase letters, digits or dashes", req.Name)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := &pgCluster{
		org: *req.OrgSlug, region: region, plan: *req.Plan,
		version:  cmp.Or(req.PgMajorVersion, pgDefaultVersion),
		poolMode: cmp.Or(req.PoolMode, pgDefaultPoolMode),
		diskGB:   cmp.Or(req.DiskSizeGb, pgDefaultDiskGB),
		postgis:  req.PostgisEnabled,
	}
	if !e.nameCluster(w, c, req.Name, newName()) {
		return
	}
	now := e.cfg.clock.Now()
	c.seed()
	e.provision(c, now)
	writeJSON(w, http.StatusCreated, models.ShowPostgresClusterResponse{Data: c.model()})
}

func (e *Emulator) postgresList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	org := q.Get("org_slug")
	if org == "" {
		invalid(w, "org_slug is required")
		return
	}
	withDeleted := q.Get("include_deleted") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	var list []*pgCluster
	for _, c := range e.st.postgres {
		if c.org == org && (withDeleted || c.status != models.PostgresClusterStatusDeleted) {
			list = append(list, c)
		}
	}
	slices.SortFunc(list, func(x, y *pgCluster) int {
		return cmp.Or(x.createdAt.Compare(y.createdAt), strings.Compare(x.id, y.id))
	})
	resp := models.ListPostgresClustersResponse{Data: make([]*models.PostgresClusterSummary, 0, len(list))}
	for _, c := range list {
		resp.Data = append(resp.Data, &models.PostgresClusterSummary{
			ID: c.id, Name: c.name, Region: c.region, Plan: c.plan, Status: c.status,
			CreatedAt: strfmt.DateTime(c.createdAt), DeletedAt: wireTime(c.deletedAt), AttachedApps: c.attachedApps(),
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// postgresShow shows a cluster in any state, deleted ones included.
func (e *Emulator) postgresShow(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgAny)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, models.ShowPostgresClusterResponse{Data: c.model()})
}

func (e *Emulator) postgresDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgLive(http.StatusGone))
	if c == nil {
		return
	}
	c.status = models.PostgresClusterStatusDeleting
	e.after(e.cfg.transitionDelay, func() {
		c.status = models.PostgresClusterStatusDeleted
		c.deletedAt = e.cfg.clock.Now()
	})
	w.WriteHeader(http.StatusAccepted)
}

// postgresFork copies a ready cluster, its databases, users and extensions
// included, into a new one.
func (e *Emulator) postgresFork(w http.ResponseWriter, r *http.Request) {
	var req models.ForkPostgresClusterRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if req.Name != "" && !appNamePattern.MatchString(req.Name) {
		invalid(w, "cluster name %q must be 3-63 lowercase letters, digits or dashes", req.Name)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	src := e.lookupCluster(w, r, pgReady(http.StatusGone, http.StatusConflict))
	if src == nil {
		return
	}
	c := src.clone()
	if !e.nameCluster(w, c, req.Name, src.name+"-fork") {
		return
	}
	e.provision(c, e.cfg.clock.Now())
	writeJSON(w, http.StatusCreated, models.ShowPostgresClusterResponse{Data: c.model()})
}

// postgresRestore makes a new cluster from a completed backup or a point in
// time between the cluster's creation and now. The source may be deleted.
func (e *Emulator) postgresRestore(w http.ResponseWriter, r *http.Request) {
	var req models.RestorePostgresClusterRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if (req.BackupID == "") == (req.PitrTime == "") {
		invalid(w, "give either backup_id or pitr_time")
		return
	}
	var pitr time.Time
	if req.PitrTime != "" {
		t, err := time.Parse(time.RFC3339, req.PitrTime)
		if err != nil {
			invalid(w, "pitr_time must be an RFC 3339 time with an offset, got %q", req.PitrTime)
			return
		}
		pitr = t
	}
	if req.Name != "" && !appNamePattern.MatchString(req.Name) {
		invalid(w, "cluster name %q must be 3-63 lowercase letters, digits or dashes", req.Name)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	src := e.lookupCluster(w, r, pgAny)
	if src == nil {
		return
	}
	now := e.cfg.clock.Now()
	if req.BackupID != "" {
		i := slices.IndexFunc(src.backups, func(b *pgBackup) bool { return b.id == req.BackupID })
		switch {
		case i < 0:
			notFound(w, "backup %s not found in cluster %s", req.BackupID, src.id)
			return
		case src.backups[i].status != pgBackupCompleted:
			writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("backup %s is %s, not completed", req.BackupID, src.backups[i].status))
			return
		}
	} else {
		end := now
		if !src.deletedAt.IsZero() {
			end = src.deletedAt
		}
		if pitr.Before(src.createdAt) || pitr.After(end) {
			writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("pitr_time %s is outside the recovery window %s to %s",
				pitr.UTC().Format(time.RFC3339), src.createdAt.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339)))
			return
		}
	}
	c := src.clone()
	if !e.nameCluster(w, c, req.Name, src.name+"-restore") {
		return
	}
	e.provision(c, now)
	writeJSON(w, http.StatusCreated, models.ShowPostgresClusterResponse{Data: c.model()})
}

// nameCluster gives c an id and a name unique among the org's clusters that
// are not deleted, and stores it: the name asked for (422 if taken) or,
// without one, def with a number added if needed. Call with e.mu held.
func (e *Emulator) nameCluster(w http.ResponseWriter, c *pgCluster, asked, def string) bool {
	taken := func(name string) bool {
		for _, o := range e.st.postgres {
			if o.org == c.org && o.name == name && o.status != models.PostgresClusterStatusDeleted {
				return true
			}
		}
		return false
	}
	switch {
	case asked != "" && taken(asked):
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("a cluster named %s already exists in organization %s", asked, c.org))
		return false
	case asked != "":
		c.name = asked
	default:
		c.name = def
		for n := 2; taken(c.name); n++ {
			c.name = fmt.Sprintf("%s-%d", def, n)
		}
	}
	c.id = randomAlnum(16)
	e.st.postgres[c.id] = c
	return true
}

// provision starts a new cluster's way to ready. Call with e.mu held.
func (e *Emulator) provision(c *pgCluster, now time.Time) {
	c.status, c.createdAt = models.PostgresClusterStatusCreating, now
	e.after(e.cfg.transitionDelay, func() {
		if c.status != models.PostgresClusterStatusCreating {
			return
		}
		c.status = models.PostgresClusterStatusInitializing
		e.after(e.cfg.transitionDelay, func() {
			if c.status == models.PostgresClusterStatusInitializing {
				c.status = models.PostgresClusterStatusReady
			}
		})
	})
}

// seed gives a new cluster its default database and user.
func (c *pgCluster) seed() {
	c.databases = map[string]*pgDatabase{pgDefaultDatabase: newPgDatabase(pgDefaultDatabase)}
	c.users = map[string]*pgUser{pgDefaultUser: {name: pgDefaultUser, role: models.PostgresUserRoleSchemaAdmin, password: newPgPassword()}}
	c.attachments = map[string]time.Time{}
}

// clone copies settings and data into a new cluster: no backups, no
// attachments, the same passwords (a copy of the data holds them).
func (c *pgCluster) clone() *pgCluster {
	n := &pgCluster{
		org: c.org, region: c.region, plan: c.plan, version: c.version, poolMode: c.poolMode,
		diskGB: c.diskGB, postgis: c.postgis,
		databases: map[string]*pgDatabase{}, users: map[string]*pgUser{}, attachments: map[string]time.Time{},
	}
	for name, db := range c.databases {
		n.databases[name] = db.clone()
	}
	for name, u := range c.users {
		copied := *u
		n.users[name] = &copied
	}
	return n
}

// Cluster states an operation needs; see lookupCluster.
type pgNeed struct {
	gone     int // status for a deleting or deleted cluster; 0 accepts it
	notReady int // status for a cluster not yet ready; 0 accepts it
}

var pgAny = pgNeed{}

func pgLive(gone int) pgNeed            { return pgNeed{gone: gone} }
func pgReady(gone, notReady int) pgNeed { return pgNeed{gone: gone, notReady: notReady} }

// lookupCluster finds {postgres_cluster_id} in a state the operation
// accepts, or answers: 404 unknown, need.gone deleted, need.notReady still
// provisioning. Call with e.mu held.
func (e *Emulator) lookupCluster(w http.ResponseWriter, r *http.Request, need pgNeed) *pgCluster {
	id := r.PathValue("postgres_cluster_id")
	c := e.st.postgres[id]
	switch {
	case c == nil:
		notFound(w, "Postgres cluster %s not found", id)
		return nil
	case need.gone != 0 && (c.status == models.PostgresClusterStatusDeleting || c.status == models.PostgresClusterStatusDeleted):
		writeError(w, need.gone, "", fmt.Sprintf("Postgres cluster %s is %s", id, c.status))
		return nil
	case need.notReady != 0 && c.status != models.PostgresClusterStatusReady:
		writeError(w, need.notReady, "", fmt.Sprintf("Postgres cluster %s is %s, not ready yet", id, c.status))
		return nil
	}
	return c
}

func (c *pgCluster) attachedApps() []*models.PostgresAttachedApp {
	names := make([]string, 0, len(c.attachments))
	for name := range c.attachments {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]*models.PostgresAttachedApp, 0, len(names))
	for _, n := range names {
		out = append(out, &models.PostgresAttachedApp{Name: n})
	}
	return out
}

// pgBytesPerDatabase is how much storage the emulator counts per database.
const pgBytesPerDatabase = 8 << 20

func (c *pgCluster) model() *models.PostgresCluster {
	plan := pgPlans[c.plan]
	provisioned, used := c.diskGB*gib, int64(len(c.databases))*pgBytesPerDatabase
	m := &models.PostgresCluster{
		ID: c.id, Name: c.name, Region: c.region, Plan: c.plan, PgMajorVersion: c.version, Status: c.status,
		DiskSizeGb: c.diskGB, PostgisEnabled: c.postgis, CreatedAt: strfmt.DateTime(c.createdAt),
		CPUKind: plan.cpuKind, Cpus: plan.cpus, MemoryMb: plan.memoryMB, Replicas: plan.replicas,
		Organization: &models.OrganizationRef{Name: c.org, Slug: c.org},
		AttachedApps: c.attachedApps(), StorageProvisionedBytes: &provisioned, StorageUsedBytes: &used,
	}
	m.Endpoints = &models.PostgresClusterEndpoints{Primary: &models.PostgresNodeEndpoints{
		Direct: &models.PostgresEndpoint{Host: "direct." + c.id + "." + pgDomain, Port: pgPort},
		Pooler: &models.PostgresEndpoint{Host: "pgbouncer." + c.id + "." + pgDomain, Port: pgPort},
	}}
	return m
}
