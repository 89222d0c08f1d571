package flytest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/ops"
	pg "github.com/flymachines/flymachines-go/client/postgres"
	"github.com/flymachines/flymachines-go/models"
)

func createCluster(t *testing.T, c *client.API, req models.CreatePostgresClusterRequest) *models.PostgresCluster {
	t.Helper()
	if req.OrgSlug == nil {
		req.OrgSlug = conv.Pointer("personal")
	}
	if req.Plan == nil {
		req.Plan = conv.Pointer("basic")
	}
	if req.Region == nil {
		req.Region = conv.Pointer("iad")
	}
	ok, err := c.Postgres.Create(context.Background(), &req)
	if err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	return ok.Data
}

func waitCluster(t *testing.T, c *client.API, id, status string) *models.PostgresCluster {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := c.Postgres.Show(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Data.Status == status {
			return ok.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s stayed %s, want %s", id, ok.Data.Status, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPostgresCluster(t *testing.T) {
	// Backups and provisioning take 150ms each: long enough to see a backup
	// in progress, short enough for a quick test.
	_, c := newResourceClient(t, WithTransitionDelay(150*time.Millisecond))
	ctx := context.Background()
	mustCreateApp(t, c, "pg-app")

	created := createCluster(t, c, models.CreatePostgresClusterRequest{Name: "main-db", Plan: conv.Pointer("launch")})
	if created.Status != "creating" || created.ID == "" || created.PgMajorVersion != "17" || created.DiskSizeGb != 10 ||
		created.CPUKind != "performance" || created.Organization.Slug != "personal" || created.Endpoints.Primary.Pooler.Port != 5432 {
		t.Errorf("created: %+v", created)
	}
	id := created.ID
	waitCluster(t, c, id, "ready")

	list, err := c.Postgres.List(ctx, "personal", nil)
	if err != nil || len(list.Data) != 1 || list.Data[0].Name != "main-db" {
		t.Fatalf("list: %v, %v", list, err)
	}
	if other, _ := c.Postgres.List(ctx, "other", nil); other == nil || len(other.Data) != 0 {
		t.Errorf("list of another org: %v", other)
	}

	t.Run("databases", func(t *testing.T) {
		dbs, err := c.Postgres.ListDatabases(ctx, id)
		if err != nil || len(dbs.Data) != 1 || dbs.Data[0].Name != pgDefaultDatabase {
			t.Fatalf("databases: %v, %v", dbs, err)
		}
		create := func(name string) error {
			_, err := c.Postgres.CreateDatabase(ctx, id, &models.CreatePostgresDatabaseRequest{Name: &name})
			return err
		}
		if err := create("app_db"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "create a database twice", create("app_db"), http.StatusUnprocessableEntity)
		wantStatus(t, "create a reserved database", create("template1"), http.StatusUnprocessableEntity)
		wantStatus(t, "create a bad name", create("Bad Name"), http.StatusBadRequest)
		del, err := c.Postgres.DeleteDatabase(ctx, id, "app_db")
		if err != nil || del.Data.Name != "app_db" {
			t.Fatalf("delete: %v, %v", del, err)
		}
		_, err = c.Postgres.DeleteDatabase(ctx, id, "app_db")
		wantStatus(t, "delete twice", err, http.StatusNotFound)
	})

	t.Run("users", func(t *testing.T) {
		create := func(name, role string) error {
			_, err := c.Postgres.CreateUser(ctx, id, &models.CreatePostgresUserRequest{Username: &name, Role: &role})
			return err
		}
		if err := create("app_user", "writer"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "create twice", create("app_user", "writer"), http.StatusConflict)
		wantStatus(t, "create a reserved name", create("postgres", "writer"), http.StatusUnprocessableEntity)
		wantStatus(t, "create with a bad role", create("other", "owner"), http.StatusBadRequest)
		if err := c.Postgres.UpdateUserRole(ctx, id, "app_user", &models.UpdatePostgresUserRoleRequest{Role: conv.Pointer("reader")}); err != nil {
			t.Fatal(err)
		}
		users, err := c.Postgres.ListUsers(ctx, id)
		if err != nil || len(users.Data) != 2 || users.Data[0].Username != "app_user" || users.Data[0].Role != "reader" {
			t.Fatalf("users: %v, %v", users, err)
		}
		creds, err := c.Postgres.UserCredentials(ctx, id, "app_user")
		if err != nil || creds.Data.Password == "" {
			t.Fatalf("credentials: %v, %v", creds, err)
		}
		rotated, err := c.Postgres.RotateUserPassword(ctx, id, "app_user", &models.RotatePostgresPasswordRequest{KillSessions: true})
		if err != nil || rotated.Data.Password == creds.Data.Password {
			t.Fatalf("rotate: %v, %v", rotated, err)
		}
		again, _ := c.Postgres.UserCredentials(ctx, id, "app_user")
		if again == nil || again.Data.Password != rotated.Data.Password {
			t.Error("credentials after a rotation do not show the new password")
		}
		if err := c.Postgres.DeleteUser(ctx, id, "app_user"); err != nil {
			t.Fatal(err)
		}
		err = c.Postgres.DeleteUser(ctx, id, "app_user")
		wantStatus(t, "delete twice", err, http.StatusNotFound)
		_, err = c.Postgres.UserCredentials(ctx, id, "app_user")
		wantStatus(t, "credentials of a deleted user", err, http.StatusNotFound)
	})

	t.Run("extensions", func(t *testing.T) {
		enable := func(req models.EnablePostgresExtensionRequest) error {
			return c.Postgres.EnableExtension(ctx, id, pgDefaultDatabase, &req)
		}
		disable := func(name string) error {
			return c.Postgres.DisableExtension(ctx, id, pgDefaultDatabase, name, &pg.DisableExtensionParams{Force: true})
		}
		if err := enable(models.EnablePostgresExtensionRequest{Name: conv.Pointer("citext")}); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "enable twice", enable(models.EnablePostgresExtensionRequest{Name: conv.Pointer("citext")}), http.StatusConflict)
		wantStatus(t, "enable one not offered", enable(models.EnablePostgresExtensionRequest{Name: conv.Pointer("postgis")}), http.StatusUnprocessableEntity)
		wantStatus(t, "enable into a missing schema", enable(models.EnablePostgresExtensionRequest{Name: conv.Pointer("hstore"), Schema: "ext"}), http.StatusUnprocessableEntity)
		if err := enable(models.EnablePostgresExtensionRequest{Name: conv.Pointer("hstore"), Schema: "ext", CreateSchema: true}); err != nil {
			t.Fatal(err)
		}
		exts, err := c.Postgres.ListExtensions(ctx, id, pgDefaultDatabase)
		if err != nil {
			t.Fatal(err)
		}
		installed := map[string]string{}
		for _, x := range exts.Data {
			if x.Name == "postgis" {
				t.Error("postgis offered without postgis_enabled")
			}
			if x.Installed != nil {
				installed[x.Name] = x.Installed.Schema
			}
		}
		if installed["citext"] != "public" || installed["hstore"] != "ext" || installed["plpgsql"] == "" {
			t.Errorf("installed: %v", installed)
		}
		if err := disable("citext"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "disable twice", disable("citext"), http.StatusNotFound)
		wantStatus(t, "disable a system extension", disable("plpgsql"), http.StatusUnprocessableEntity)
		_, err = c.Postgres.ListExtensions(ctx, id, "nope")
		wantStatus(t, "extensions of an unknown database", err, http.StatusNotFound)
	})

	t.Run("queries", func(t *testing.T) {
		active, err := c.Postgres.ActiveQueries(ctx, id, pgDefaultDatabase)
		if err != nil || active.Data == nil || len(active.Data) != 0 {
			t.Errorf("active: %v, %v", active, err)
		}
		_, err = c.Postgres.ActiveQueries(ctx, id, "nope")
		wantStatus(t, "active queries of an unknown database", err, http.StatusNotFound)
		slow, err := c.Postgres.SlowQueries(ctx, id, &pg.SlowQueriesParams{Range: 60})
		if err != nil || len(slow.Data) != 0 {
			t.Errorf("slow: %v, %v", slow, err)
		}
		_, err = c.Postgres.SlowQueries(ctx, id, nil, call.WithQuery("range", "0"))
		wantStatus(t, "slow queries over a bad range", err, http.StatusUnprocessableEntity)
	})

	t.Run("attachments", func(t *testing.T) {
		attach := func(app string) (int, error) {
			var meta call.Meta
			res, err := c.Postgres.Attach(ctx, id, &models.CreatePostgresAttachmentRequest{AppName: &app}, call.Capture(&meta))
			switch {
			case err != nil:
				return 0, err
			case res.Data == nil || res.Data.AppName != app:
				return 0, nil
			}
			return meta.StatusCode, nil
		}
		if st, err := attach("pg-app"); st != http.StatusCreated {
			t.Fatalf("attach: %d, %v", st, err)
		}
		if st, err := attach("pg-app"); st != http.StatusOK {
			t.Errorf("attach again: %d, %v", st, err)
		}
		_, err := attach("no-app")
		wantStatus(t, "attach an unknown app", err, http.StatusNotFound)
		shown := waitCluster(t, c, id, "ready")
		if len(shown.AttachedApps) != 1 || shown.AttachedApps[0].Name != "pg-app" {
			t.Errorf("attached apps: %+v", shown.AttachedApps)
		}
		if err := c.Postgres.Detach(ctx, id, "pg-app"); err != nil {
			t.Fatal(err)
		}
		err = c.Postgres.Detach(ctx, id, "pg-app")
		wantStatus(t, "detach twice", err, http.StatusNotFound)
	})

	t.Run("backups and restore", func(t *testing.T) {
		backup := func() error {
			return c.Postgres.CreateBackup(ctx, id, &models.CreatePostgresBackupRequest{Type: conv.Pointer("full")})
		}
		if err := backup(); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "a second backup while one runs", backup(), http.StatusConflict)
		var b *models.PostgresBackup
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			list, err := c.Postgres.ListBackups(ctx, id)
			if err != nil || len(list.Data) != 1 {
				t.Fatalf("backups: %v, %v", list, err)
			}
			if b = list.Data[0]; b.Status == "completed" {
				break
			}
		}
		if b.Status != "completed" || b.Type != "full" || b.FinishedAt == "" || b.SizeBytes == 0 {
			t.Fatalf("backup: %+v", b)
		}

		restore := func(req models.RestorePostgresClusterRequest) (*models.PostgresCluster, error) {
			ok, err := c.Postgres.Restore(ctx, id, &req)
			if err != nil {
				return nil, err
			}
			return ok.Data, nil
		}
		fromBackup, err := restore(models.RestorePostgresClusterRequest{BackupID: b.ID})
		if err != nil || fromBackup.Name != "main-db-restore" || fromBackup.Status != "creating" || fromBackup.Plan != "launch" {
			t.Fatalf("restore from a backup: %+v, %v", fromBackup, err)
		}
		pitr := time.Now().UTC().Add(-50 * time.Millisecond).Format(time.RFC3339Nano)
		if atTime, err := restore(models.RestorePostgresClusterRequest{PitrTime: pitr, Name: "point-in-time"}); err != nil || atTime.Name != "point-in-time" {
			t.Errorf("restore to a point in time: %+v, %v", atTime, err)
		}
		for name, tc := range map[string]struct {
			req    models.RestorePostgresClusterRequest
			status int
		}{
			"both":            {models.RestorePostgresClusterRequest{BackupID: b.ID, PitrTime: pitr}, 400},
			"neither":         {models.RestorePostgresClusterRequest{}, 400},
			"garbage time":    {models.RestorePostgresClusterRequest{PitrTime: "yesterday"}, 400},
			"before creation": {models.RestorePostgresClusterRequest{PitrTime: "2001-01-01T00:00:00Z"}, 422},
			"unknown backup":  {models.RestorePostgresClusterRequest{BackupID: "nope"}, 404},
			"name taken":      {models.RestorePostgresClusterRequest{BackupID: b.ID, Name: "main-db"}, 422},
		} {
			_, err := restore(tc.req)
			wantStatus(t, "restore, "+name, err, tc.status)
		}
	})

	t.Run("fork", func(t *testing.T) {
		ok, err := c.Postgres.Fork(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		fork := ok.Data
		if fork.Name != "main-db-fork" || fork.ID == id || fork.Plan != "launch" || fork.Status != "creating" {
			t.Errorf("fork: %+v", fork)
		}
		_, err = c.Postgres.Fork(ctx, fork.ID, nil)
		wantStatus(t, "fork a cluster that is not ready", err, http.StatusConflict)
		waitCluster(t, c, fork.ID, "ready")
		dbs, err := c.Postgres.ListDatabases(ctx, fork.ID)
		if err != nil || len(dbs.Data) != 1 {
			t.Errorf("databases of the fork: %v, %v", dbs, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := c.Postgres.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		err := c.Postgres.Delete(ctx, id)
		wantStatus(t, "delete twice", err, http.StatusGone)
		_, err = c.Postgres.RotateUserPassword(ctx, id, pgDefaultUser, nil)
		wantStatus(t, "rotate on a deleted cluster", err, http.StatusGone)
		_, err = c.Postgres.ListDatabases(ctx, id)
		wantStatus(t, "databases of a deleted cluster", err, http.StatusNotFound)
		deleted := waitCluster(t, c, id, "deleted")
		if deleted.Name != "main-db" {
			t.Errorf("deleted: %+v", deleted)
		}
		count := func(include bool) int {
			list, err := c.Postgres.List(ctx, "personal", &pg.ListParams{IncludeDeleted: include})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list.Data {
				if s.ID == id && s.DeletedAt == "" {
					t.Error("a deleted cluster without deleted_at")
				}
			}
			return len(list.Data)
		}
		if without, with := count(false), count(true); with != without+1 {
			t.Errorf("include_deleted: %d without, %d with", without, with)
		}
	})
}

func TestPostgresNotReady(t *testing.T) {
	_, c := newResourceClient(t, WithTransitionDelay(time.Hour))
	ctx := context.Background()
	id := createCluster(t, c, models.CreatePostgresClusterRequest{}).ID
	_, err := c.Postgres.ListDatabases(ctx, id)
	wantStatus(t, "databases before ready", err, http.StatusServiceUnavailable)
	_, err = c.Postgres.ListUsers(ctx, id)
	wantStatus(t, "users before ready", err, http.StatusServiceUnavailable)
	_, err = c.Postgres.Fork(ctx, id, nil)
	wantStatus(t, "fork before ready", err, http.StatusConflict)
	err = c.Postgres.CreateBackup(ctx, id, &models.CreatePostgresBackupRequest{Type: conv.Pointer("full")})
	wantStatus(t, "backup before ready", err, http.StatusConflict)
	_, err = c.Postgres.SlowQueries(ctx, id, nil)
	wantStatus(t, "slow queries before ready", err, http.StatusUnprocessableEntity)
	// Deleting while provisioning is fine.
	if err := c.Postgres.Delete(ctx, id); err != nil {
		t.Errorf("delete while creating: %v", err)
	}
}

func TestPostgresCreateInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	createCluster(t, c, models.CreatePostgresClusterRequest{Name: "taken"})
	for name, tc := range map[string]struct {
		req    models.CreatePostgresClusterRequest
		status int
	}{
		"no org":         {models.CreatePostgresClusterRequest{Plan: conv.Pointer("basic"), Region: conv.Pointer("iad")}, 400},
		"no plan":        {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Region: conv.Pointer("iad")}, 400},
		"unknown plan":   {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("huge"), Region: conv.Pointer("iad")}, 400},
		"small disk":     {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("basic"), Region: conv.Pointer("iad"), DiskSizeGb: 5}, 400},
		"old version":    {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("basic"), Region: conv.Pointer("iad"), PgMajorVersion: "12"}, 400},
		"bad name":       {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("basic"), Region: conv.Pointer("iad"), Name: "No"}, 400},
		"no MPG there":   {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("basic"), Region: conv.Pointer("arn")}, 422},
		"unknown region": {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("o"), Plan: conv.Pointer("basic"), Region: conv.Pointer("zzz")}, 422},
		"name taken":     {models.CreatePostgresClusterRequest{OrgSlug: conv.Pointer("personal"), Plan: conv.Pointer("basic"), Region: conv.Pointer("iad"), Name: "taken"}, 422},
	} {
		_, err := c.Postgres.Create(context.Background(), &tc.req)
		wantStatus(t, name, err, tc.status)
	}
	_, err := c.Postgres.List(context.Background(), "", nil)
	wantStatus(t, "list without org_slug", err, http.StatusBadRequest)
}

// TestPostgresUnknownCluster: every operation on a cluster (its path
// names {postgres_cluster_id}) answers 404 for a cluster that does not
// exist, with an error body.
func TestPostgresUnknownCluster(t *testing.T) {
	srv, _ := newResourceClient(t)
	// The bodies and queries the operations check before they look the
	// cluster up.
	fixtures := map[string]opRequest{
		ops.PostgresRestore:         {body: `{"backup_id":"b"}`},
		ops.PostgresAttach:          {body: `{"app_name":"a"}`},
		ops.PostgresCreateBackup:    {body: `{"type":"full"}`},
		ops.PostgresCreateDatabase:  {body: `{"name":"x"}`},
		ops.PostgresEnableExtension: {body: `{"name":"x"}`},
		ops.PostgresCreateUser:      {body: `{"username":"x","role":"reader"}`},
		ops.PostgresUpdateUserRole:  {body: `{"role":"reader"}`},
		ops.PostgresActiveQueries:   {query: "database=x"},
	}
	n := 0
	for _, op := range ops.All() {
		if !strings.Contains(op.Path, "{postgres_cluster_id}") {
			continue
		}
		n++
		req := fixtures[op.ID]
		req.values = placeholders("a", "m")
		req.values["postgres_cluster_id"] = "doesnotexist0000"
		ans := sendOp(t, srv, op, req)
		if ans.status != http.StatusNotFound || ans.errorText() == "" {
			t.Errorf("%s: HTTP %d %s, want 404 with an error", op.ID, ans.status, ans.body)
		}
	}
	if n == 0 {
		t.Error("the facts table has no operation on a Postgres cluster")
	}
}
