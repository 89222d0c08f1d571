package flytest

import (
	"context"
	"errors"
	"testing"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/models"
)

func TestAppsLifecycle(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()

	created, err := c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParams().WithBody(&models.CreateAppRequest{Name: "my-app", OrgSlug: "personal"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if created.Payload.ID == "" {
		t.Error("create returned no app id")
	}

	_, err = c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParams().WithBody(&models.CreateAppRequest{Name: "my-app", OrgSlug: "personal"}), nil)
	var taken *apps.AppsCreateUnprocessableEntity
	if !errors.As(err, &taken) || taken.Payload.Status != models.MainStatusCodeNameTaken {
		t.Fatalf("second create: got %v, want 422 name_taken", err)
	}

	shown, err := c.Apps.AppsShowContext(ctx, apps.NewAppsShowParams().WithAppName("my-app"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if shown.Payload.Name != "my-app" || shown.Payload.Organization.Slug != "personal" {
		t.Errorf("show: got %+v", shown.Payload)
	}

	list, err := c.Apps.AppsListContext(ctx, apps.NewAppsListParams().WithOrgSlug("personal"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Payload.Apps) != 1 || list.Payload.TotalApps != 1 {
		t.Errorf("list: got %d apps, total %d", len(list.Payload.Apps), list.Payload.TotalApps)
	}
	other, err := c.Apps.AppsListContext(ctx, apps.NewAppsListParams().WithOrgSlug("other-org"), nil)
	if err != nil || len(other.Payload.Apps) != 0 {
		t.Errorf("list of another org: %v, %v", other, err)
	}

	if _, err := c.Apps.AppsDeleteContext(ctx, apps.NewAppsDeleteParams().WithAppName("my-app"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Apps.AppsShowContext(ctx, apps.NewAppsShowParams().WithAppName("my-app"), nil)
	var gone *apps.AppsShowDefault
	if !errors.As(err, &gone) || gone.Code() != 404 {
		t.Fatalf("show after delete: got %v, want 404", err)
	}
}

func TestAppsIdempotentCreate(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()
	body := &models.CreateAppRequest{Name: "idem-app", OrgSlug: "personal", IdempotencyKey: "k-1"}
	first, err := c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParams().WithBody(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParams().WithBody(body), nil)
	if err != nil {
		t.Fatalf("repeat with the same idempotency key: %v", err)
	}
	if first.Payload.ID != again.Payload.ID {
		t.Errorf("repeat created a second app: %s vs %s", first.Payload.ID, again.Payload.ID)
	}
}

func TestAppsListPagination(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()
	for _, name := range []string{"app-a", "app-b", "app-c"} {
		if _, err := c.Apps.AppsCreateContext(ctx, apps.NewAppsCreateParams().WithBody(&models.CreateAppRequest{Name: name, OrgSlug: "o"}), nil); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	cursor := ""
	for range 5 {
		p := apps.NewAppsListParams().WithOrgSlug("o").WithLimit(conv.Pointer(int64(2)))
		if cursor != "" {
			p.SetCursor(&cursor)
		}
		page, err := c.Apps.AppsListContext(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Payload.Apps {
			names = append(names, a.Name)
		}
		if cursor = page.Payload.NextCursor; cursor == "" {
			break
		}
	}
	if len(names) != 3 || names[0] != "app-a" || names[2] != "app-c" {
		t.Errorf("paged through %v", names)
	}
}
