package flytest

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/flymachines/flymachines-go/models"
)

// Databases, users and extensions of a cluster. They need a ready cluster:
// before that they answer 503, as the API does while it provisions.

// pgIdentifier is what the emulator accepts as a database or user name.
var pgIdentifier = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,62}$`)

// pgReserved are names Postgres keeps for itself.
func pgReserved(name string) bool {
	return name == "postgres" || name == "template0" || name == "template1" || strings.HasPrefix(name, "pg_")
}

// pgExtension is one extension a database offers.
type pgExtension struct {
	name, version, description string
	system                     bool // installed everywhere; cannot be disabled
	postgis                    bool // offered only on clusters with PostGIS enabled
}

var pgExtensions = []pgExtension{
	{name: "btree_gin", version: "1.3", description: "support for indexing common datatypes in GIN"},
	{name: "btree_gist", version: "1.7", description: "support for indexing common datatypes in GiST"},
	{name: "citext", version: "1.6", description: "data type for case-insensitive character strings"},
	{name: "hstore", version: "1.8", description: "data type for storing sets of (key, value) pairs"},
	{name: "pg_stat_statements", version: "1.11", description: "track planning and execution statistics of all SQL statements executed", system: true},
	{name: "pg_trgm", version: "1.6", description: "text similarity measurement and index searching based on trigrams"},
	{name: "pgcrypto", version: "1.3", description: "cryptographic functions"},
	{name: "plpgsql", version: "1.0", description: "PL/pgSQL procedural language", system: true},
	{name: "postgis", version: "3.5.2", description: "PostGIS geometry and geography spatial types and functions", postgis: true},
	{name: "uuid-ossp", version: "1.1", description: "generate universally unique identifiers (UUIDs)"},
	{name: "vector", version: "0.8.0", description: "vector data type and ivfflat and hnsw access methods"},
}

func findPgExtension(name string) *pgExtension {
	i := slices.IndexFunc(pgExtensions, func(x pgExtension) bool { return x.name == name })
	if i < 0 {
		return nil
	}
	return &pgExtensions[i]
}

// pgDatabase is one database: its schemas and installed extensions.
type pgDatabase struct {
	name       string
	schemas    map[string]bool
	extensions map[string]string // name → schema
}

func newPgDatabase(name string) *pgDatabase {
	db := &pgDatabase{name: name, schemas: map[string]bool{"public": true}, extensions: map[string]string{}}
	for _, x := range pgExtensions {
		if x.system {
			db.extensions[x.name] = "pg_catalog"
		}
	}
	return db
}

func (db *pgDatabase) clone() *pgDatabase {
	return &pgDatabase{name: db.name, schemas: maps.Clone(db.schemas), extensions: maps.Clone(db.extensions)}
}

// pgUser is one Postgres user.
type pgUser struct {
	name, role, password string
}

func newPgPassword() string { return randomBase64(24) }

// Status for operations on a deleted cluster that declare no 410.
const pgGoneNotFound = http.StatusNotFound

var pgDataNeed = pgReady(pgGoneNotFound, http.StatusServiceUnavailable)

func (e *Emulator) postgresDatabasesList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgDataNeed)
	if c == nil {
		return
	}
	resp := models.ListPostgresDatabasesResponse{Data: []*models.PostgresDatabase{}}
	for _, name := range slices.Sorted(maps.Keys(c.databases)) {
		resp.Data = append(resp.Data, &models.PostgresDatabase{Name: name})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) postgresDatabasesCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreatePostgresDatabaseRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	name := *req.Name
	if !pgIdentifier.MatchString(name) {
		invalid(w, "database name %q must be up to 63 lowercase letters, digits, underscores or dashes", name)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgDataNeed)
	if c == nil {
		return
	}
	if pgReserved(name) || c.databases[name] != nil {
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("database %s already exists", name))
		return
	}
	c.databases[name] = newPgDatabase(name)
	writeJSON(w, http.StatusCreated, models.PostgresDatabaseResponse{Data: &models.PostgresDatabase{Name: name}})
}

func (e *Emulator) postgresDatabasesDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, db := e.lookupPgDatabase(w, r)
	if db == nil {
		return
	}
	delete(c.databases, db.name)
	writeJSON(w, http.StatusOK, models.PostgresDatabaseResponse{Data: &models.PostgresDatabase{Name: db.name}})
}

func (e *Emulator) postgresExtensionsList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, db := e.lookupPgDatabase(w, r)
	if db == nil {
		return
	}
	resp := models.ListPostgresExtensionsResponse{Data: []*models.PostgresExtension{}}
	for _, x := range pgExtensions {
		if x.postgis && !c.postgis {
			continue
		}
		m := &models.PostgresExtension{Name: x.name, DefaultVersion: x.version, Description: x.description, System: x.system}
		if schema, ok := db.extensions[x.name]; ok {
			m.Installed = &models.PostgresExtensionInstalled{Schema: schema, Version: x.version}
		}
		resp.Data = append(resp.Data, m)
	}
	writeJSON(w, http.StatusOK, resp)
}

// postgresExtensionsEnable installs an offered extension: 422 for one not
// offered or a schema that does not exist (unless create_schema), 409 for
// one already installed.
func (e *Emulator) postgresExtensionsEnable(w http.ResponseWriter, r *http.Request) {
	var req models.EnablePostgresExtensionRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	schema := req.Schema
	if schema == "" {
		schema = "public"
	} else if !pgIdentifier.MatchString(schema) {
		invalid(w, "schema %q is not a valid name", schema)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, db := e.lookupPgDatabase(w, r)
	if db == nil {
		return
	}
	x := findPgExtension(*req.Name)
	switch {
	case x == nil || (x.postgis && !c.postgis):
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("extension %s is not available on this cluster", *req.Name))
		return
	case db.extensions[x.name] != "":
		writeError(w, http.StatusConflict, "", fmt.Sprintf("extension %s is already enabled in database %s", x.name, db.name))
		return
	case !db.schemas[schema] && !req.CreateSchema:
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("schema %s does not exist in database %s: set create_schema to create it", schema, db.name))
		return
	}
	db.schemas[schema] = true
	db.extensions[x.name] = schema
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) postgresExtensionsDisable(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, db := e.lookupPgDatabase(w, r)
	if db == nil {
		return
	}
	name := r.PathValue("extension_name")
	x := findPgExtension(name)
	switch {
	case x != nil && x.system:
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("extension %s is a system extension and cannot be disabled", name))
		return
	case db.extensions[name] == "":
		notFound(w, "extension %s is not enabled in database %s", name, db.name)
		return
	}
	delete(db.extensions, name)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) postgresUsersList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgDataNeed)
	if c == nil {
		return
	}
	resp := models.ListPostgresUsersResponse{Data: []*models.PostgresUser{}}
	for _, name := range slices.Sorted(maps.Keys(c.users)) {
		resp.Data = append(resp.Data, &models.PostgresUser{Username: name, Role: c.users[name].role})
	}
	writeJSON(w, http.StatusOK, resp)
}

// postgresUsersCreate makes a user with a generated password: 409 when the
// name is taken, 422 for a name Postgres reserves.
func (e *Emulator) postgresUsersCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreatePostgresUserRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	name := *req.Username
	if !pgIdentifier.MatchString(name) {
		invalid(w, "username %q must be up to 63 lowercase letters, digits, underscores or dashes", name)
		return
	}
	if pgReserved(name) {
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("username %s is reserved", name))
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgDataNeed)
	if c == nil {
		return
	}
	if c.users[name] != nil {
		writeError(w, http.StatusConflict, "", fmt.Sprintf("user %s already exists", name))
		return
	}
	c.users[name] = &pgUser{name: name, role: *req.Role, password: newPgPassword()}
	writeJSON(w, http.StatusCreated, models.CreatePostgresUserResponse{Data: &models.PostgresUser{Username: name, Role: *req.Role}})
}

func (e *Emulator) postgresUsersDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, u := e.lookupPgUser(w, r, pgDataNeed)
	if u == nil {
		return
	}
	delete(c.users, u.name)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) postgresUsersUpdateRole(w http.ResponseWriter, r *http.Request) {
	var req models.UpdatePostgresUserRoleRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, u := e.lookupPgUser(w, r, pgDataNeed)
	if u == nil {
		return
	}
	u.role = *req.Role
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emulator) postgresUsersCredentials(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, u := e.lookupPgUser(w, r, pgDataNeed)
	if u == nil {
		return
	}
	writeJSON(w, http.StatusOK, models.GetPostgresUserCredentialsResponse{Data: &models.PostgresUserCredentials{Username: u.name, Password: u.password}})
}

func (e *Emulator) postgresUsersRotatePassword(w http.ResponseWriter, r *http.Request) {
	var req models.RotatePostgresPasswordRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, u := e.lookupPgUser(w, r, pgReady(http.StatusGone, http.StatusServiceUnavailable))
	if u == nil {
		return
	}
	u.password = newPgPassword()
	writeJSON(w, http.StatusOK, models.RotatePostgresPasswordResponse{Data: &models.PostgresUserCredentials{Username: u.name, Password: u.password}})
}

// postgresQueriesActive answers no running queries; database is required
// and must exist.
func (e *Emulator) postgresQueriesActive(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("database")
	if name == "" {
		invalid(w, "database is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgReady(pgGoneNotFound, http.StatusUnprocessableEntity))
	if c == nil {
		return
	}
	if c.databases[name] == nil {
		notFound(w, "database %s not found in cluster %s", name, c.id)
		return
	}
	writeJSON(w, http.StatusOK, models.ListPostgresActiveQueriesResponse{Data: []*models.PostgresActiveQuery{}})
}

// postgresQueriesSlow answers no slow queries; range must be 1-604800.
func (e *Emulator) postgresQueriesSlow(w http.ResponseWriter, r *http.Request) {
	if s := r.URL.Query().Get("range"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 604800 {
			writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("range must be 1 to 604800 seconds, got %q", s))
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lookupCluster(w, r, pgReady(pgGoneNotFound, http.StatusUnprocessableEntity)) == nil {
		return
	}
	writeJSON(w, http.StatusOK, models.ListPostgresSlowQueriesResponse{Data: []*models.PostgresSlowQuery{}})
}

// lookupPgDatabase finds {database_name} in a ready cluster, or answers.
func (e *Emulator) lookupPgDatabase(w http.ResponseWriter, r *http.Request) (*pgCluster, *pgDatabase) {
	c := e.lookupCluster(w, r, pgDataNeed)
	if c == nil {
		return nil, nil
	}
	name := r.PathValue("database_name")
	db := c.databases[name]
	if db == nil {
		notFound(w, "database %s not found in cluster %s", name, c.id)
		return c, nil
	}
	return c, db
}

// lookupPgUser finds {username} in a cluster in the state need asks, or
// answers.
func (e *Emulator) lookupPgUser(w http.ResponseWriter, r *http.Request, need pgNeed) (*pgCluster, *pgUser) {
	c := e.lookupCluster(w, r, need)
	if c == nil {
		return nil, nil
	}
	name := r.PathValue("username")
	u := c.users[name]
	if u == nil {
		notFound(w, "user %s not found in cluster %s", name, c.id)
		return c, nil
	}
	return c, u
}
