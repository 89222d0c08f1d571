package flytest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client"
	pg "github.com/flymachines/flymachines-go/client/postgres_clusters"
	"github.com/flymachines/flymachines-go/models"
)

func createCluster(t *testing.T, c *client.MachinesAPI, req models.CreatePostgresClusterRequest) *models.PostgresCluster {
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
	ok, err := c.PostgresClusters.PostgresCreateContext(context.Background(), pg.NewPostgresCreateParams().WithBody(&req), nil)
	if err != nil {
		t.Fatalf("create cluster: %v", err)
	}
	return ok.Payload.Data
}

func waitCluster(t *testing.T, c *client.MachinesAPI, id, status string) *models.PostgresCluster {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := c.PostgresClusters.PostgresShowContext(context.Background(), pg.NewPostgresShowParams().WithPostgresClusterID(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok.Payload.Data.Status == status {
			return ok.Payload.Data
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %s stayed %s, want %s", id, ok.Payload.Data.Status, status)
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

	list, err := c.PostgresClusters.PostgresListContext(ctx, pg.NewPostgresListParams().WithOrgSlug("personal"), nil)
	if err != nil || len(list.Payload.Data) != 1 || list.Payload.Data[0].Name != "main-db" {
		t.Fatalf("list: %v, %v", list, err)
	}
	if other, _ := c.PostgresClusters.PostgresListContext(ctx, pg.NewPostgresListParams().WithOrgSlug("other"), nil); other == nil || len(other.Payload.Data) != 0 {
		t.Errorf("list of another org: %v", other)
	}

	t.Run("databases", func(t *testing.T) {
		dbs, err := c.PostgresClusters.PostgresDatabasesListContext(ctx, pg.NewPostgresDatabasesListParams().WithPostgresClusterID(id), nil)
		if err != nil || len(dbs.Payload.Data) != 1 || dbs.Payload.Data[0].Name != pgDefaultDatabase {
			t.Fatalf("databases: %v, %v", dbs, err)
		}
		create := func(name string) error {
			_, err := c.PostgresClusters.PostgresDatabasesCreateContext(ctx, pg.NewPostgresDatabasesCreateParams().WithPostgresClusterID(id).
				WithBody(&models.CreatePostgresDatabaseRequest{Name: &name}), nil)
			return err
		}
		if err := create("app_db"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "create a database twice", create("app_db"), http.StatusUnprocessableEntity)
		wantStatus(t, "create a reserved database", create("template1"), http.StatusUnprocessableEntity)
		wantStatus(t, "create a bad name", create("Bad Name"), http.StatusBadRequest)
		del, err := c.PostgresClusters.PostgresDatabasesDeleteContext(ctx, pg.NewPostgresDatabasesDeleteParams().WithPostgresClusterID(id).WithDatabaseName("app_db"), nil)
		if err != nil || del.Payload.Data.Name != "app_db" {
			t.Fatalf("delete: %v, %v", del, err)
		}
		_, err = c.PostgresClusters.PostgresDatabasesDeleteContext(ctx, pg.NewPostgresDatabasesDeleteParams().WithPostgresClusterID(id).WithDatabaseName("app_db"), nil)
		wantStatus(t, "delete twice", err, http.StatusNotFound)
	})

	t.Run("users", func(t *testing.T) {
		create := func(name, role string) error {
			_, err := c.PostgresClusters.PostgresUsersCreateContext(ctx, pg.NewPostgresUsersCreateParams().WithPostgresClusterID(id).
				WithBody(&models.CreatePostgresUserRequest{Username: &name, Role: &role}), nil)
			return err
		}
		if err := create("app_user", "writer"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "create twice", create("app_user", "writer"), http.StatusConflict)
		wantStatus(t, "create a reserved name", create("postgres", "writer"), http.StatusUnprocessableEntity)
		wantStatus(t, "create with a bad role", create("other", "owner"), http.StatusBadRequest)
		if _, err := c.PostgresClusters.PostgresUsersUpdateRoleContext(ctx, pg.NewPostgresUsersUpdateRoleParams().WithPostgresClusterID(id).WithUsername("app_user").
			WithBody(&models.UpdatePostgresUserRoleRequest{Role: conv.Pointer("reader")}), nil); err != nil {
			t.Fatal(err)
		}
		users, err := c.PostgresClusters.PostgresUsersListContext(ctx, pg.NewPostgresUsersListParams().WithPostgresClusterID(id), nil)
		if err != nil || len(users.Payload.Data) != 2 || users.Payload.Data[0].Username != "app_user" || users.Payload.Data[0].Role != "reader" {
			t.Fatalf("users: %v, %v", users, err)
		}
		creds, err := c.PostgresClusters.PostgresUsersCredentialsContext(ctx, pg.NewPostgresUsersCredentialsParams().WithPostgresClusterID(id).WithUsername("app_user"), nil)
		if err != nil || creds.Payload.Data.Password == "" {
			t.Fatalf("credentials: %v, %v", creds, err)
		}
		rotated, err := c.PostgresClusters.PostgresUsersRotatePasswordContext(ctx, pg.NewPostgresUsersRotatePasswordParams().WithPostgresClusterID(id).WithUsername("app_user").
			WithBody(&models.RotatePostgresPasswordRequest{KillSessions: true}), nil)
		if err != nil || rotated.Payload.Data.Password == creds.Payload.Data.Password {
			t.Fatalf("rotate: %v, %v", rotated, err)
		}
		again, _ := c.PostgresClusters.PostgresUsersCredentialsContext(ctx, pg.NewPostgresUsersCredentialsParams().WithPostgresClusterID(id).WithUsername("app_user"), nil)
		if again == nil || again.Payload.Data.Password != rotated.Payload.Data.Password {
			t.Error("credentials after a rotation do not show the new password")
		}
		if _, err := c.PostgresClusters.PostgresUsersDeleteContext(ctx, pg.NewPostgresUsersDeleteParams().WithPostgresClusterID(id).WithUsername("app_user"), nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.PostgresClusters.PostgresUsersDeleteContext(ctx, pg.NewPostgresUsersDeleteParams().WithPostgresClusterID(id).WithUsername("app_user"), nil)
		wantStatus(t, "delete twice", err, http.StatusNotFound)
		_, err = c.PostgresClusters.PostgresUsersCredentialsContext(ctx, pg.NewPostgresUsersCredentialsParams().WithPostgresClusterID(id).WithUsername("app_user"), nil)
		wantStatus(t, "credentials of a deleted user", err, http.StatusNotFound)
	})

	t.Run("extensions", func(t *testing.T) {
		enable := func(req models.EnablePostgresExtensionRequest) error {
			_, err := c.PostgresClusters.PostgresExtensionsEnableContext(ctx, pg.NewPostgresExtensionsEnableParams().WithPostgresClusterID(id).
				WithDatabaseName(pgDefaultDatabase).WithBody(&req), nil)
			return err
		}
		disable := func(name string) error {
			_, err := c.PostgresClusters.PostgresExtensionsDisableContext(ctx, pg.NewPostgresExtensionsDisableParams().WithPostgresClusterID(id).
				WithDatabaseName(pgDefaultDatabase).WithExtensionName(name).WithForce(conv.Pointer(true)), nil)
			return err
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
		exts, err := c.PostgresClusters.PostgresExtensionsListContext(ctx, pg.NewPostgresExtensionsListParams().WithPostgresClusterID(id).WithDatabaseName(pgDefaultDatabase), nil)
		if err != nil {
			t.Fatal(err)
		}
		installed := map[string]string{}
		for _, x := range exts.Payload.Data {
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
		_, err = c.PostgresClusters.PostgresExtensionsListContext(ctx, pg.NewPostgresExtensionsListParams().WithPostgresClusterID(id).WithDatabaseName("nope"), nil)
		wantStatus(t, "extensions of an unknown database", err, http.StatusNotFound)
	})

	t.Run("queries", func(t *testing.T) {
		active, err := c.PostgresClusters.PostgresQueriesActiveContext(ctx, pg.NewPostgresQueriesActiveParams().WithPostgresClusterID(id).WithDatabase(pgDefaultDatabase), nil)
		if err != nil || active.Payload.Data == nil || len(active.Payload.Data) != 0 {
			t.Errorf("active: %v, %v", active, err)
		}
		_, err = c.PostgresClusters.PostgresQueriesActiveContext(ctx, pg.NewPostgresQueriesActiveParams().WithPostgresClusterID(id).WithDatabase("nope"), nil)
		wantStatus(t, "active queries of an unknown database", err, http.StatusNotFound)
		slow, err := c.PostgresClusters.PostgresQueriesSlowContext(ctx, pg.NewPostgresQueriesSlowParams().WithPostgresClusterID(id).WithRange(conv.Pointer(int64(60))), nil)
		if err != nil || len(slow.Payload.Data) != 0 {
			t.Errorf("slow: %v, %v", slow, err)
		}
		_, err = c.PostgresClusters.PostgresQueriesSlowContext(ctx, pg.NewPostgresQueriesSlowParams().WithPostgresClusterID(id).WithRange(conv.Pointer(int64(0))), nil)
		wantStatus(t, "slow queries over a bad range", err, http.StatusUnprocessableEntity)
	})

	t.Run("attachments", func(t *testing.T) {
		attach := func(app string) (int, error) {
			ok, created, err := c.PostgresClusters.PostgresAttachmentsCreateContext(ctx, pg.NewPostgresAttachmentsCreateParams().WithPostgresClusterID(id).
				WithBody(&models.CreatePostgresAttachmentRequest{AppName: &app}), nil)
			switch {
			case err != nil:
				return 0, err
			case created != nil:
				return http.StatusCreated, nil
			case ok != nil && ok.Payload.Data.AppName == app:
				return http.StatusOK, nil
			}
			return 0, nil
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
		if _, err := c.PostgresClusters.PostgresAttachmentsDeleteContext(ctx, pg.NewPostgresAttachmentsDeleteParams().WithPostgresClusterID(id).WithAppName("pg-app"), nil); err != nil {
			t.Fatal(err)
		}
		_, err = c.PostgresClusters.PostgresAttachmentsDeleteContext(ctx, pg.NewPostgresAttachmentsDeleteParams().WithPostgresClusterID(id).WithAppName("pg-app"), nil)
		wantStatus(t, "detach twice", err, http.StatusNotFound)
	})

	t.Run("backups and restore", func(t *testing.T) {
		backup := func() error {
			_, err := c.PostgresClusters.PostgresBackupsCreateContext(ctx, pg.NewPostgresBackupsCreateParams().WithPostgresClusterID(id).
				WithBody(&models.CreatePostgresBackupRequest{Type: conv.Pointer("full")}), nil)
			return err
		}
		if err := backup(); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "a second backup while one runs", backup(), http.StatusConflict)
		var b *models.PostgresBackup
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			list, err := c.PostgresClusters.PostgresBackupsListContext(ctx, pg.NewPostgresBackupsListParams().WithPostgresClusterID(id), nil)
			if err != nil || len(list.Payload.Data) != 1 {
				t.Fatalf("backups: %v, %v", list, err)
			}
			if b = list.Payload.Data[0]; b.Status == "completed" {
				break
			}
		}
		if b.Status != "completed" || b.Type != "full" || b.FinishedAt == "" || b.SizeBytes == 0 {
			t.Fatalf("backup: %+v", b)
		}

		restore := func(req models.RestorePostgresClusterRequest) (*models.PostgresCluster, error) {
			ok, err := c.PostgresClusters.PostgresRestoreContext(ctx, pg.NewPostgresRestoreParams().WithPostgresClusterID(id).WithBody(&req), nil)
			if err != nil {
				return nil, err
			}
			return ok.Payload.Data, nil
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
		ok, err := c.PostgresClusters.PostgresForkContext(ctx, pg.NewPostgresForkParams().WithPostgresClusterID(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		fork := ok.Payload.Data
		if fork.Name != "main-db-fork" || fork.ID == id || fork.Plan != "launch" || fork.Status != "creating" {
			t.Errorf("fork: %+v", fork)
		}
		_, err = c.PostgresClusters.PostgresForkContext(ctx, pg.NewPostgresForkParams().WithPostgresClusterID(fork.ID), nil)
		wantStatus(t, "fork a cluster that is not ready", err, http.StatusConflict)
		waitCluster(t, c, fork.ID, "ready")
		dbs, err := c.PostgresClusters.PostgresDatabasesListContext(ctx, pg.NewPostgresDatabasesListParams().WithPostgresClusterID(fork.ID), nil)
		if err != nil || len(dbs.Payload.Data) != 1 {
			t.Errorf("databases of the fork: %v, %v", dbs, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := c.PostgresClusters.PostgresDeleteContext(ctx, pg.NewPostgresDeleteParams().WithPostgresClusterID(id), nil); err != nil {
			t.Fatal(err)
		}
		_, err := c.PostgresClusters.PostgresDeleteContext(ctx, pg.NewPostgresDeleteParams().WithPostgresClusterID(id), nil)
		wantStatus(t, "delete twice", err, http.StatusGone)
		_, err = c.PostgresClusters.PostgresUsersRotatePasswordContext(ctx, pg.NewPostgresUsersRotatePasswordParams().WithPostgresClusterID(id).WithUsername(pgDefaultUser), nil)
		wantStatus(t, "rotate on a deleted cluster", err, http.StatusGone)
		_, err = c.PostgresClusters.PostgresDatabasesListContext(ctx, pg.NewPostgresDatabasesListParams().WithPostgresClusterID(id), nil)
		wantStatus(t, "databases of a deleted cluster", err, http.StatusNotFound)
		deleted := waitCluster(t, c, id, "deleted")
		if deleted.Name != "main-db" {
			t.Errorf("deleted: %+v", deleted)
		}
		count := func(include bool) int {
			list, err := c.PostgresClusters.PostgresListContext(ctx, pg.NewPostgresListParams().WithOrgSlug("personal").WithIncludeDeleted(&include), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list.Payload.Data {
				if s.ID == id && s.DeletedAt == "" {
					t.Error("a deleted cluster without deleted_at")
				}
			}
			return len(list.Payload.Data)
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
	_, err := c.PostgresClusters.PostgresDatabasesListContext(ctx, pg.NewPostgresDatabasesListParams().WithPostgresClusterID(id), nil)
	wantStatus(t, "databases before ready", err, http.StatusServiceUnavailable)
	_, err = c.PostgresClusters.PostgresUsersListContext(ctx, pg.NewPostgresUsersListParams().WithPostgresClusterID(id), nil)
	wantStatus(t, "users before ready", err, http.StatusServiceUnavailable)
	_, err = c.PostgresClusters.PostgresForkContext(ctx, pg.NewPostgresForkParams().WithPostgresClusterID(id), nil)
	wantStatus(t, "fork before ready", err, http.StatusConflict)
	_, err = c.PostgresClusters.PostgresBackupsCreateContext(ctx, pg.NewPostgresBackupsCreateParams().WithPostgresClusterID(id).
		WithBody(&models.CreatePostgresBackupRequest{Type: conv.Pointer("full")}), nil)
	wantStatus(t, "backup before ready", err, http.StatusConflict)
	_, err = c.PostgresClusters.PostgresQueriesSlowContext(ctx, pg.NewPostgresQueriesSlowParams().WithPostgresClusterID(id), nil)
	wantStatus(t, "slow queries before ready", err, http.StatusUnprocessableEntity)
	// Deleting while provisioning is fine.
	if _, err := c.PostgresClusters.PostgresDeleteContext(ctx, pg.NewPostgresDeleteParams().WithPostgresClusterID(id), nil); err != nil {
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
		_, err := c.PostgresClusters.PostgresCreateContext(context.Background(), pg.NewPostgresCreateParams().WithBody(&tc.req), nil)
		wantStatus(t, name, err, tc.status)
	}
	_, err := c.PostgresClusters.PostgresListContext(context.Background(), pg.NewPostgresListParams(), nil)
	wantStatus(t, "list without org_slug", err, http.StatusBadRequest)
}

// TestPostgresUnknownCluster: every cluster operation answers 404 for a
// cluster that does not exist.
func TestPostgresUnknownCluster(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	const id = "doesnotexist0000"
	p := c.PostgresClusters
	name, role, app, typ := "x", "reader", "a", "full"
	calls := map[string]func() error{
		"Postgres_show": func() error {
			_, err := p.PostgresShowContext(ctx, pg.NewPostgresShowParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_delete": func() error {
			_, err := p.PostgresDeleteContext(ctx, pg.NewPostgresDeleteParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_fork": func() error {
			_, err := p.PostgresForkContext(ctx, pg.NewPostgresForkParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_restore": func() error {
			_, err := p.PostgresRestoreContext(ctx, pg.NewPostgresRestoreParams().WithPostgresClusterID(id).WithBody(&models.RestorePostgresClusterRequest{BackupID: "b"}), nil)
			return err
		},
		"Postgres_attachments_create": func() error {
			_, _, err := p.PostgresAttachmentsCreateContext(ctx, pg.NewPostgresAttachmentsCreateParams().WithPostgresClusterID(id).WithBody(&models.CreatePostgresAttachmentRequest{AppName: &app}), nil)
			return err
		},
		"Postgres_attachments_delete": func() error {
			_, err := p.PostgresAttachmentsDeleteContext(ctx, pg.NewPostgresAttachmentsDeleteParams().WithPostgresClusterID(id).WithAppName(app), nil)
			return err
		},
		"Postgres_backups_list": func() error {
			_, err := p.PostgresBackupsListContext(ctx, pg.NewPostgresBackupsListParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_backups_create": func() error {
			_, err := p.PostgresBackupsCreateContext(ctx, pg.NewPostgresBackupsCreateParams().WithPostgresClusterID(id).WithBody(&models.CreatePostgresBackupRequest{Type: &typ}), nil)
			return err
		},
		"Postgres_databases_list": func() error {
			_, err := p.PostgresDatabasesListContext(ctx, pg.NewPostgresDatabasesListParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_databases_create": func() error {
			_, err := p.PostgresDatabasesCreateContext(ctx, pg.NewPostgresDatabasesCreateParams().WithPostgresClusterID(id).WithBody(&models.CreatePostgresDatabaseRequest{Name: &name}), nil)
			return err
		},
		"Postgres_databases_delete": func() error {
			_, err := p.PostgresDatabasesDeleteContext(ctx, pg.NewPostgresDatabasesDeleteParams().WithPostgresClusterID(id).WithDatabaseName(name), nil)
			return err
		},
		"Postgres_extensions_list": func() error {
			_, err := p.PostgresExtensionsListContext(ctx, pg.NewPostgresExtensionsListParams().WithPostgresClusterID(id).WithDatabaseName(name), nil)
			return err
		},
		"Postgres_extensions_enable": func() error {
			_, err := p.PostgresExtensionsEnableContext(ctx, pg.NewPostgresExtensionsEnableParams().WithPostgresClusterID(id).WithDatabaseName(name).WithBody(&models.EnablePostgresExtensionRequest{Name: &name}), nil)
			return err
		},
		"Postgres_extensions_disable": func() error {
			_, err := p.PostgresExtensionsDisableContext(ctx, pg.NewPostgresExtensionsDisableParams().WithPostgresClusterID(id).WithDatabaseName(name).WithExtensionName(name), nil)
			return err
		},
		"Postgres_queries_active": func() error {
			_, err := p.PostgresQueriesActiveContext(ctx, pg.NewPostgresQueriesActiveParams().WithPostgresClusterID(id).WithDatabase(name), nil)
			return err
		},
		"Postgres_queries_slow": func() error {
			_, err := p.PostgresQueriesSlowContext(ctx, pg.NewPostgresQueriesSlowParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_users_list": func() error {
			_, err := p.PostgresUsersListContext(ctx, pg.NewPostgresUsersListParams().WithPostgresClusterID(id), nil)
			return err
		},
		"Postgres_users_create": func() error {
			_, err := p.PostgresUsersCreateContext(ctx, pg.NewPostgresUsersCreateParams().WithPostgresClusterID(id).WithBody(&models.CreatePostgresUserRequest{Username: &name, Role: &role}), nil)
			return err
		},
		"Postgres_users_delete": func() error {
			_, err := p.PostgresUsersDeleteContext(ctx, pg.NewPostgresUsersDeleteParams().WithPostgresClusterID(id).WithUsername(name), nil)
			return err
		},
		"Postgres_users_update_role": func() error {
			_, err := p.PostgresUsersUpdateRoleContext(ctx, pg.NewPostgresUsersUpdateRoleParams().WithPostgresClusterID(id).WithUsername(name).WithBody(&models.UpdatePostgresUserRoleRequest{Role: &role}), nil)
			return err
		},
		"Postgres_users_credentials": func() error {
			_, err := p.PostgresUsersCredentialsContext(ctx, pg.NewPostgresUsersCredentialsParams().WithPostgresClusterID(id).WithUsername(name), nil)
			return err
		},
		"Postgres_users_rotate_password": func() error {
			_, err := p.PostgresUsersRotatePasswordContext(ctx, pg.NewPostgresUsersRotatePasswordParams().WithPostgresClusterID(id).WithUsername(name), nil)
			return err
		},
	}
	if len(calls) != 22 {
		t.Errorf("%d operations covered, want the 22 on an existing cluster", len(calls))
	}
	for op, call := range calls {
		wantStatus(t, op, call(), http.StatusNotFound)
	}
}
