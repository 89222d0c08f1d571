package flytest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client/secrets"
	"github.com/flymachines/flymachines-go/models"
)

func TestSecretsLifecycle(t *testing.T) {
	srv, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "sec-app")

	p, err := c.Secrets.Set(ctx, "sec-app", "DATABASE_URL", &models.SetAppSecretRequest{Value: "postgres://x"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "DATABASE_URL" || p.Digest == "" || p.Value != "" || p.Version != 1 || p.DeprecatedVersion != 1 || p.CreatedAt == "" {
		t.Errorf("create: %+v", p)
	}

	got, err := c.Secrets.Get(ctx, "sec-app", "DATABASE_URL", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "" || got.Digest != p.Digest {
		t.Errorf("get revealed the value or changed the digest: %+v", got)
	}
	shown, err := c.Secrets.Get(ctx, "sec-app", "DATABASE_URL", &secrets.GetParams{ShowSecrets: true})
	if err != nil || shown.Value != "postgres://x" {
		t.Errorf("get with show_secrets: %v, %v", shown, err)
	}

	// Update sets two and removes one (a null value), as one new version.
	upd, err := c.Secrets.Update(ctx, "sec-app", &models.AppSecretsUpdateRequest{Values: map[string]*string{"A": conv.Pointer("1"), "B": conv.Pointer("2")}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.Version != 2 || len(upd.Secrets) != 3 {
		t.Errorf("update: version %d, %d secrets", upd.Version, len(upd.Secrets))
	}
	status, body := rawCall(t, srv, http.MethodPost, "/v1/apps/sec-app/secrets", `{"values":{"A":null,"C":"3"}}`)
	if status != 200 || !strings.Contains(body, `"version":3`) {
		t.Errorf("update with null: %d %s", status, body)
	}

	list, err := c.Secrets.List(ctx, "sec-app", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Secrets {
		names = append(names, s.Name)
		if s.Value != "" {
			t.Errorf("list revealed %s", s.Name)
		}
	}
	if strings.Join(names, ",") != "B,C,DATABASE_URL" {
		t.Errorf("list: %v", names)
	}
	all, err := c.Secrets.List(ctx, "sec-app", &secrets.ListParams{ShowSecrets: true, MinVersion: "3"})
	if err != nil || all.Secrets[0].Value != "2" {
		t.Errorf("list with show_secrets and a reached min_version: %v, %v", all, err)
	}
	_, err = c.Secrets.List(ctx, "sec-app", &secrets.ListParams{MinVersion: "9"})
	wantStatus(t, "min_version ahead of the app", err, http.StatusBadRequest)
	_, err = c.Secrets.List(ctx, "sec-app", &secrets.ListParams{MinVersion: "x"})
	wantStatus(t, "malformed min_version", err, http.StatusBadRequest)

	// Same value, same digest; another value, another digest.
	again, err := c.Secrets.Set(ctx, "sec-app", "B", &models.SetAppSecretRequest{Value: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != secretDigest("1") || again.Digest == secretDigest("2") || again.Version != 4 {
		t.Errorf("replace: %+v", again)
	}

	del, err := c.Secrets.Delete(ctx, "sec-app", "B")
	if err != nil || del.Version != 5 {
		t.Fatalf("delete: %v, %v", del, err)
	}
	_, err = c.Secrets.Delete(ctx, "sec-app", "B")
	wantStatus(t, "delete twice", err, http.StatusNotFound)
	_, err = c.Secrets.Get(ctx, "sec-app", "B", nil)
	wantStatus(t, "get deleted", err, http.StatusNotFound)
}

func TestSecretsInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "sec-app")
	_, err := c.Secrets.Set(ctx, "sec-app", "1BAD", &models.SetAppSecretRequest{Value: "x"})
	wantStatus(t, "bad name", err, http.StatusBadRequest)
	_, err = c.Secrets.Set(ctx, "sec-app", "EMPTY", &models.SetAppSecretRequest{})
	wantStatus(t, "no value", err, http.StatusBadRequest)
	_, err = c.Secrets.Update(ctx, "sec-app", &models.AppSecretsUpdateRequest{Values: map[string]*string{"OK": conv.Pointer("1"), "not-ok": conv.Pointer("2")}})
	wantStatus(t, "update with a bad name", err, http.StatusBadRequest)
	_, err = c.Secrets.Update(ctx, "sec-app", &models.AppSecretsUpdateRequest{})
	wantStatus(t, "update with no values", err, http.StatusBadRequest)
	_, err = c.Secrets.Set(ctx, "no-app", "X", &models.SetAppSecretRequest{Value: "x"})
	wantStatus(t, "unknown app", err, http.StatusNotFound)

	list, err := c.Secrets.List(ctx, "sec-app", nil)
	if err != nil || len(list.Secrets) != 0 {
		t.Errorf("refused writes left secrets: %v, %v", list, err)
	}
}
