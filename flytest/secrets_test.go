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

	created, err := c.Secrets.SecretCreateContext(ctx, secrets.NewSecretCreateParams().WithAppName("sec-app").WithSecretName("DATABASE_URL").
		WithBody(&models.SetAppSecretRequest{Value: "postgres://x"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := created.Payload
	if p.Name != "DATABASE_URL" || p.Digest == "" || p.Value != "" || p.Version != 1 || p.DeprecatedVersion != 1 || p.CreatedAt == "" {
		t.Errorf("create: %+v", p)
	}

	got, err := c.Secrets.SecretGetContext(ctx, secrets.NewSecretGetParams().WithAppName("sec-app").WithSecretName("DATABASE_URL"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Payload.Value != "" || got.Payload.Digest != p.Digest {
		t.Errorf("get revealed the value or changed the digest: %+v", got.Payload)
	}
	shown, err := c.Secrets.SecretGetContext(ctx, secrets.NewSecretGetParams().WithAppName("sec-app").WithSecretName("DATABASE_URL").WithShowSecrets(conv.Pointer(true)), nil)
	if err != nil || shown.Payload.Value != "postgres://x" {
		t.Errorf("get with show_secrets: %v, %v", shown, err)
	}

	// Update sets two and removes one (a null value), as one new version.
	upd, err := c.Secrets.SecretsUpdateContext(ctx, secrets.NewSecretsUpdateParams().WithAppName("sec-app").
		WithBody(&models.AppSecretsUpdateRequest{Values: map[string]*string{"A": conv.Pointer("1"), "B": conv.Pointer("2")}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Payload.Version != 2 || len(upd.Payload.Secrets) != 3 {
		t.Errorf("update: version %d, %d secrets", upd.Payload.Version, len(upd.Payload.Secrets))
	}
	status, body := rawCall(t, srv, http.MethodPost, "/v1/apps/sec-app/secrets", `{"values":{"A":null,"C":"3"}}`)
	if status != 200 || !strings.Contains(body, `"version":3`) {
		t.Errorf("update with null: %d %s", status, body)
	}

	list, err := c.Secrets.SecretsListContext(ctx, secrets.NewSecretsListParams().WithAppName("sec-app"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.Payload.Secrets {
		names = append(names, s.Name)
		if s.Value != "" {
			t.Errorf("list revealed %s", s.Name)
		}
	}
	if strings.Join(names, ",") != "B,C,DATABASE_URL" {
		t.Errorf("list: %v", names)
	}
	all, err := c.Secrets.SecretsListContext(ctx, secrets.NewSecretsListParams().WithAppName("sec-app").WithShowSecrets(conv.Pointer(true)).WithMinVersion(conv.Pointer("3")), nil)
	if err != nil || all.Payload.Secrets[0].Value != "2" {
		t.Errorf("list with show_secrets and a reached min_version: %v, %v", all, err)
	}
	_, err = c.Secrets.SecretsListContext(ctx, secrets.NewSecretsListParams().WithAppName("sec-app").WithMinVersion(conv.Pointer("9")), nil)
	wantStatus(t, "min_version ahead of the app", err, http.StatusBadRequest)
	_, err = c.Secrets.SecretsListContext(ctx, secrets.NewSecretsListParams().WithAppName("sec-app").WithMinVersion(conv.Pointer("x")), nil)
	wantStatus(t, "malformed min_version", err, http.StatusBadRequest)

	// Same value, same digest; another value, another digest.
	again, err := c.Secrets.SecretCreateContext(ctx, secrets.NewSecretCreateParams().WithAppName("sec-app").WithSecretName("B").
		WithBody(&models.SetAppSecretRequest{Value: "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Payload.Digest != secretDigest("1") || again.Payload.Digest == secretDigest("2") || again.Payload.Version != 4 {
		t.Errorf("replace: %+v", again.Payload)
	}

	del, err := c.Secrets.SecretDeleteContext(ctx, secrets.NewSecretDeleteParams().WithAppName("sec-app").WithSecretName("B"), nil)
	if err != nil || del.Payload.Version != 5 {
		t.Fatalf("delete: %v, %v", del, err)
	}
	_, err = c.Secrets.SecretDeleteContext(ctx, secrets.NewSecretDeleteParams().WithAppName("sec-app").WithSecretName("B"), nil)
	wantStatus(t, "delete twice", err, http.StatusNotFound)
	_, err = c.Secrets.SecretGetContext(ctx, secrets.NewSecretGetParams().WithAppName("sec-app").WithSecretName("B"), nil)
	wantStatus(t, "get deleted", err, http.StatusNotFound)
}

func TestSecretsInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "sec-app")
	_, err := c.Secrets.SecretCreateContext(ctx, secrets.NewSecretCreateParams().WithAppName("sec-app").WithSecretName("1BAD").
		WithBody(&models.SetAppSecretRequest{Value: "x"}), nil)
	wantStatus(t, "bad name", err, http.StatusBadRequest)
	_, err = c.Secrets.SecretCreateContext(ctx, secrets.NewSecretCreateParams().WithAppName("sec-app").WithSecretName("EMPTY").
		WithBody(&models.SetAppSecretRequest{}), nil)
	wantStatus(t, "no value", err, http.StatusBadRequest)
	_, err = c.Secrets.SecretsUpdateContext(ctx, secrets.NewSecretsUpdateParams().WithAppName("sec-app").
		WithBody(&models.AppSecretsUpdateRequest{Values: map[string]*string{"OK": conv.Pointer("1"), "not-ok": conv.Pointer("2")}}), nil)
	wantStatus(t, "update with a bad name", err, http.StatusBadRequest)
	_, err = c.Secrets.SecretsUpdateContext(ctx, secrets.NewSecretsUpdateParams().WithAppName("sec-app").
		WithBody(&models.AppSecretsUpdateRequest{}), nil)
	wantStatus(t, "update with no values", err, http.StatusBadRequest)
	_, err = c.Secrets.SecretCreateContext(ctx, secrets.NewSecretCreateParams().WithAppName("no-app").WithSecretName("X").
		WithBody(&models.SetAppSecretRequest{Value: "x"}), nil)
	wantStatus(t, "unknown app", err, http.StatusNotFound)

	list, err := c.Secrets.SecretsListContext(ctx, secrets.NewSecretsListParams().WithAppName("sec-app"), nil)
	if err != nil || len(list.Payload.Secrets) != 0 {
		t.Errorf("refused writes left secrets: %v, %v", list, err)
	}
}
