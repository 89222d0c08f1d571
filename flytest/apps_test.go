package flytest

import (
	"context"
	"testing"

	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/models"
)

func TestAppsLifecycle(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()

	created, err := c.Apps.Create(ctx, &models.CreateAppRequest{Name: "my-app", OrgSlug: "personal"})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" {
		t.Error("create returned no app id")
	}

	_, err = c.Apps.Create(ctx, &models.CreateAppRequest{Name: "my-app", OrgSlug: "personal"})
	if b := errorBody(err); codeOf(err) != 422 || b == nil || b.Status != models.MainStatusCodeNameTaken {
		t.Fatalf("second create: got %v, want 422 name_taken", err)
	}

	shown, err := c.Apps.Show(ctx, "my-app")
	if err != nil {
		t.Fatal(err)
	}
	if shown.Name != "my-app" || shown.Organization.Slug != "personal" {
		t.Errorf("show: got %+v", shown)
	}

	list, err := c.Apps.List(ctx, "personal", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Apps) != 1 || list.TotalApps != 1 {
		t.Errorf("list: got %d apps, total %d", len(list.Apps), list.TotalApps)
	}
	other, err := c.Apps.List(ctx, "other-org", nil)
	if err != nil || len(other.Apps) != 0 {
		t.Errorf("list of another org: %v, %v", other, err)
	}

	if err := c.Apps.Delete(ctx, "my-app", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Apps.Show(ctx, "my-app")
	if codeOf(err) != 404 || errorText(err) == "" {
		t.Fatalf("show after delete: got %v, want 404 with an ErrorResponse body", err)
	}
}

func TestAppsIdempotentCreate(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()
	body := &models.CreateAppRequest{Name: "idem-app", OrgSlug: "personal", IdempotencyKey: "k-1"}
	first, err := c.Apps.Create(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Apps.Create(ctx, body)
	if err != nil {
		t.Fatalf("repeat with the same idempotency key: %v", err)
	}
	if first.ID != again.ID {
		t.Errorf("repeat created a second app: %s vs %s", first.ID, again.ID)
	}
}

func TestAppsListPagination(t *testing.T) {
	_, c := newTestClient(t)
	ctx := context.Background()
	for _, name := range []string{"app-a", "app-b", "app-c"} {
		if _, err := c.Apps.Create(ctx, &models.CreateAppRequest{Name: name, OrgSlug: "o"}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	cursor := ""
	for range 5 {
		page, err := c.Apps.List(ctx, "o", &apps.ListParams{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Apps {
			names = append(names, a.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(names) != 3 || names[0] != "app-a" || names[2] != "app-c" {
		t.Errorf("paged through %v", names)
	}
}
