package flytest

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/models"
)

func TestTokensAuthenticate(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	ok, err := c.Tokens.Authenticate(ctx, &models.AuthenticateTokenRequest{Header: "FlyV1 fm2_aaa,fm2_bbb"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 2 || ok[0].Header != "FlyV1 fm2_aaa" || len(ok[0].Nonce.Kid) != 16 {
		t.Errorf("authenticate: %+v", ok)
	}
	again, _ := c.Tokens.Authenticate(ctx, &models.AuthenticateTokenRequest{Header: "fm2_aaa"})
	if len(again) == 0 || string(again[0].Nonce.Kid) != string(ok[0].Nonce.Kid) {
		t.Error("the same token verified differently")
	}
	_, err = c.Tokens.Authenticate(ctx, &models.AuthenticateTokenRequest{Header: "Bearer "})
	wantStatus(t, "empty header", err, http.StatusBadRequest)
}

func TestTokensAuthenticateWithTokens(t *testing.T) {
	_, c := newResourceClient(t, WithTokens(testToken))
	ctx := context.Background()
	if _, err := c.Tokens.Authenticate(ctx, &models.AuthenticateTokenRequest{Header: "Bearer " + testToken}); err != nil {
		t.Errorf("an accepted token: %v", err)
	}
	_, err := c.Tokens.Authenticate(ctx, &models.AuthenticateTokenRequest{Header: "Bearer other"})
	wantStatus(t, "a token not accepted", err, http.StatusUnauthorized)
}

func TestTokensAuthorize(t *testing.T) {
	srv, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateAppIn(t, c, "auth-app", "acme")
	access := &models.MainTokenAccess{AppName: "auth-app", MachineID: "d8d9", Command: []string{"ls"}}
	access.Action = 3
	ok, err := c.Tokens.Authorize(ctx, &models.AuthorizeTokenRequest{Header: "FlyV1 fm2_x", Access: access})
	if err != nil {
		t.Fatal(err)
	}
	a := ok.Access
	if a.Action != 3 || a.Appid == 0 || a.Orgid == 0 || a.Machine != "d8d9" || ok.VerifiedToken.Header != "FlyV1 fm2_x" {
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

	_, err = c.Tokens.Authorize(ctx, &models.AuthorizeTokenRequest{Header: "FlyV1 fm2_x", Access: &models.MainTokenAccess{AppName: "no-app"}})
	wantStatus(t, "access to an unknown app", err, http.StatusForbidden)
}

func TestCurrentToken(t *testing.T) {
	_, c := newResourceClient(t)
	cur, err := c.Tokens.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Tokens) != 1 || !strings.HasPrefix(cur.Tokens[0].TokenID, "tok_") || cur.Tokens[0].OrgSlug != "personal" {
		t.Errorf("current: %+v", cur.Tokens)
	}
}

// TestTokensKmsAndOIDC: both answer a token string, as JSON by default and
// as text/plain when asked for it.
func TestTokensKmsAndOIDC(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	for _, accept := range []string{"", "text/plain", "application/json"} {
		var opts []call.Option
		if accept != "" {
			opts = append(opts, call.WithHeader("Accept", accept))
		}
		var meta call.Meta
		kms, err := c.Tokens.RequestKMS(ctx, append(opts, call.Capture(&meta))...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(kms, "fm2_") || strings.ContainsAny(kms, "\" \n") {
			t.Errorf("kms token %q", kms)
		}
		if ct := meta.Header("Content-Type"); !strings.HasPrefix(ct, cmp.Or(accept, "application/json")) {
			t.Errorf("Accept %q: kms token as %q", accept, ct)
		}
		oidc, err := c.Tokens.RequestOIDC(ctx, &models.CreateOIDCTokenRequest{Aud: "https://sts.example.com", AwsPrincipalTags: true}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(oidc, ".")
		if len(parts) != 3 {
			t.Fatalf("oidc token %q is not a JWT", oidc)
		}
		claims, err := base64.RawURLEncoding.DecodeString(parts[1])
		var m map[string]any
		if err != nil || json.Unmarshal(claims, &m) != nil || m["aud"] != "https://sts.example.com" || m["https://aws.amazon.com/tags"] == nil {
			t.Errorf("oidc claims %s", claims)
		}
	}
	if _, err := c.Tokens.RequestOIDC(ctx, nil); err != nil {
		t.Errorf("oidc without a body: %v", err)
	}
	_, err := c.Tokens.RequestOIDC(ctx, &models.CreateOIDCTokenRequest{Aud: "not a url"})
	if codeOf(err) != http.StatusBadRequest || errorText(err) == "" {
		t.Errorf("oidc with a bad aud: got %v, want 400 with an error", err)
	}
}
