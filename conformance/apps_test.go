package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/superfly/fly-go/flaps"
)

// TestAppLifecycle follows flyctl's apps create, apps list, apps destroy
// and the remote builder's app with its role.
func TestAppLifecycle(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-apps")

	e.check("GetApp", "shows the app, with machine_count and network sent even when zero", func(ctx context.Context) error {
		got, err := e.f.GetApp(ctx, app)
		if err != nil {
			return err
		}
		if got.Name != app || got.Organization.Slug != org || got.Status == "" {
			return fmt.Errorf("got name %q, org %q, status %q", got.Name, got.Organization.Slug, got.Status)
		}
		obj, err := e.wireObject()
		if err != nil {
			return err
		}
		if err := sent(obj, map[string]string{"machine_count": "0", "volume_count": "0"}); err != nil {
			return err
		}
		if _, ok := obj["network"]; !ok {
			return errors.New("the answer leaves out network")
		}
		return nil
	})

	// The remote builder's app: created with a role, found by it.
	const role = "remote-docker-builder"
	builder := "conf-apps-builder"
	e.check("CreateApp", "stores app_role_id as the app's role", func(ctx context.Context) error {
		got, err := e.f.CreateApp(ctx, flaps.CreateAppRequest{Name: builder, Org: org, AppRoleID: role})
		if err != nil {
			return err
		}
		if got.AppRole != role {
			return fmt.Errorf("app_role %q, want %q", got.AppRole, role)
		}
		return nil
	})
	e.check("GetApp", "shows the role the app was created with", func(ctx context.Context) error {
		got, err := e.f.GetApp(ctx, builder)
		if err != nil {
			return err
		}
		if got.AppRole != role {
			return fmt.Errorf("app_role %q, want %q", got.AppRole, role)
		}
		return nil
	})
	e.check("ListApps", "lists the org's apps", func(ctx context.Context) error {
		apps, err := e.f.ListApps(ctx, flaps.ListAppsRequest{OrgSlug: org})
		if err != nil {
			return err
		}
		if names := appNames(apps); !slices.Equal(names, []string{app, builder}) {
			return fmt.Errorf("listed %v, want both apps", names)
		}
		return nil
	})
	e.check("ListApps", "filters on app_role", func(ctx context.Context) error {
		apps, err := e.f.ListApps(ctx, flaps.ListAppsRequest{OrgSlug: org, AppRole: role})
		if err != nil {
			return err
		}
		if names := appNames(apps); !slices.Equal(names, []string{builder}) {
			return fmt.Errorf("listed %v, want only %s", names, builder)
		}
		return nil
	})

	e.check("CreateApp", "refuses a name that is taken", func(ctx context.Context) error {
		_, err := e.f.CreateApp(ctx, flaps.CreateAppRequest{Name: app, Org: org})
		if err == nil {
			return errors.New("created a second app under a taken name")
		}
		return nil
	})
	e.flapsBug("AppNameAvailable", "a name that is taken panics: it logs err.Error() before checking that err is nil", func(ctx context.Context) {
		_, _ = e.f.AppNameAvailable(ctx, app)
	})
	e.check("AppNameAvailable", "a free name is available: GET answers 404 \"app not found\"", func(ctx context.Context) error {
		ok, err := e.f.AppNameAvailable(ctx, "conf-apps-free")
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("a free name reads as taken")
		}
		return nil
	})

	// apps destroy deletes an app whose Machines still run, without
	// stopping them first.
	e.launch(app, service("nginx"))
	e.check("DeleteApp", "deletes an app whose Machine runs", func(ctx context.Context) error {
		return e.f.DeleteApp(ctx, app)
	})
	e.check("GetApp", "a deleted app is not found", func(ctx context.Context) error {
		_, err := e.f.GetApp(ctx, app)
		if !errors.Is(err, flaps.ErrFlapsNotFound) {
			return fmt.Errorf("got %v, want a 404", err)
		}
		return nil
	})
	e.check("DeleteApp", "deleting an unknown app is a 404", func(ctx context.Context) error {
		return wantStatus(e.f.DeleteApp(ctx, "conf-apps-never"), http.StatusNotFound)
	})
	e.check("DeleteApp", "deletes the builder app", func(ctx context.Context) error {
		return e.f.DeleteApp(ctx, builder)
	})
}

func appNames(apps []flaps.App) []string {
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}
