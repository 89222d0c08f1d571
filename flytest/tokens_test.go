package flytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/tokens"
	"github.com/flymachines/flymachines-go/models"
)

func TestTokensAuthenticate(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	ok, err := c.Tokens.TokensAuthenticateContext(ctx, tokens.NewTokensAuthenticateParams().
		WithBody(&models.AuthenticateTokenRequest{Header: "FlyV1 fm2_aaa,fm2_bbb"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok.Payload) != 2 || ok.Payload[0].Header != "FlyV1 fm2_aaa" || len(ok.Payload[0].Nonce.Kid) != 16 {
		t.Errorf("authenticate: %+v", ok.Payload)
	}
	again, _ := c.Tokens.TokensAuthenticateContext(ctx, tokens.NewTokensAuthenticateParams().
		WithBody(&models.AuthenticateTokenRequest{Header: "fm2_aaa"}), nil)
	if again == nil || string(again.Payload[0].Nonce.Kid) != string(ok.Payload[0].Nonce.Kid) {
		t.Error("the same token verified differently")
	}
	_, err = c.Tokens.TokensAuthenticateContext(ctx, tokens.NewTokensAuthenticateParams().WithBody(&models.AuthenticateTokenRequest{Header: "Bearer "}), nil)
	wantStatus(t, "empty header", err, http.StatusBadRequest)
}

func TestTokensAuthenticateWithTokens(t *testing.T) {
	_, c := newResourceClient(t, WithTokens(testToken))
	ctx := context.Background()
	if _, err := c.Tokens.TokensAuthenticateContext(ctx, tokens.NewTokensAuthenticateParams().
		WithBody(&models.AuthenticateTokenRequest{Header: "Bearer " + testToken}), nil); err != nil {
		t.Errorf("an accepted token: %v", err)
	}
	_, err := c.Tokens.TokensAuthenticateContext(ctx, tokens.NewTokensAuthenticateParams().
		WithBody(&models.AuthenticateTokenRequest{Header: "Bearer other"}), nil)
	wantStatus(t, "a token not accepted", err, http.StatusUnauthorized)
}

func TestTokensAuthorize(t *testing.T) {
	srv, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateAppIn(t, c, "auth-app", "acme")
	access := &models.MainTokenAccess{AppName: "auth-app", MachineID: "d8d9", Command: []string{"ls"}}
	access.Action = 3
	ok, err := c.Tokens.TokensAuthorizeContext(ctx, tokens.NewTokensAuthorizeParams().
		WithBody(&models.AuthorizeTokenRequest{Header: "FlyV1 fm2_x", Access: access}), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := ok.Payload.Access
	if a.Action != 3 || a.Appid == 0 || a.Orgid == 0 || a.Machine != "d8d9" || ok.Payload.VerifiedToken.Header != "FlyV1 fm2_x" {
		t.Errorf("authorize: %+v", a)
	}

	// The API's own form of action, a bare integer, is accepted too.
	status, body := rawCall(t, srv, http.MethodPost, "/v1/tokens/authorize", `{"header":"FlyV1 fm2_x","access":{"app_name":"auth-app","action":8}}`)
	var resp models.AuthorizeResponse
	if status != 200 || json.Unmarshal([]byte(body), &resp) != nil || resp.Access.Action != 8 {
		t.Errorf("bare action: %d %s", status, body)
	}
	status, _ = rawCall(t, srv, http.MethodPost, "/v1/tokens/authorize", `{"header":"FlyV1 fm2_x","access":{"action":64}}`)
	if status != http.StatusBadRequest {
		t.Errorf("action out of range: %d", status)
	}

	_, err = c.Tokens.TokensAuthorizeContext(ctx, tokens.NewTokensAuthorizeParams().
		WithBody(&models.AuthorizeTokenRequest{Header: "FlyV1 fm2_x", Access: &models.MainTokenAccess{AppName: "no-app"}}), nil)
	wantStatus(t, "access to an unknown app", err, http.StatusForbidden)
}

func TestCurrentToken(t *testing.T) {
	_, c := newResourceClient(t)
	ok, err := c.Tokens.CurrentTokenShowContext(context.Background(), tokens.NewCurrentTokenShowParams(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ok.Payload.Tokens) != 1 || !strings.HasPrefix(ok.Payload.Tokens[0].TokenID, "tok_") || ok.Payload.Tokens[0].OrgSlug != "personal" {
		t.Errorf("current: %+v", ok.Payload.Tokens)
	}
}

// TestTokensKmsAndOIDC: both answer a token string, as JSON by default and
// as text/plain when asked for it.
func TestTokensKmsAndOIDC(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	for _, opts := range [][]tokens.ClientOption{nil, {tokens.WithAcceptTextPlain}, {tokens.WithAcceptApplicationJSON}} {
		kms, err := c.Tokens.TokensRequestKmsContext(ctx, tokens.NewTokensRequestKmsParams(), nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(kms.Payload, "fm2_") || strings.ContainsAny(kms.Payload, "\" \n") {
			t.Errorf("kms token %q", kms.Payload)
		}
		oidc, err := c.Tokens.TokensRequestOIDCContext(ctx, tokens.NewTokensRequestOIDCParams().
			WithBody(&models.CreateOIDCTokenRequest{Aud: "https://sts.example.com", AwsPrincipalTags: true}), nil, opts...)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(oidc.Payload, ".")
		if len(parts) != 3 {
			t.Fatalf("oidc token %q is not a JWT", oidc.Payload)
		}
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		if err != nil || json.Unmarshal(claims, &m) != nil || m["aud"] != "https://sts.example.com" || m["https://aws.amazon.com/tags"] == nil {
			t.Errorf("oidc claims %s", claims)
		}
	}
	if _, err := c.Tokens.TokensRequestOIDCContext(ctx, tokens.NewTokensRequestOIDCParams(), nil); err != nil {
		t.Errorf("oidc without a body: %v", err)
	}
	_, err := c.Tokens.TokensRequestOIDCContext(ctx, tokens.NewTokensRequestOIDCParams().WithBody(&models.CreateOIDCTokenRequest{Aud: "not a url"}), nil)
	var bad *tokens.TokensRequestOIDCBadRequest
	if !asError(err, &bad) {
		t.Errorf("oidc with a bad aud: got %v, want 400", err)
	}
}
