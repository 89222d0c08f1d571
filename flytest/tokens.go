package flytest

import (
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/models"
)

// The token operations answer well-formed but meaningless tokens. Anything
// derived from a presented token (ids, nonces) is a hash of it, so repeated
// calls agree.

// flytestUser is the user every token belongs to.
const flytestUser = "flytest@example.com"

func (e *Emulator) tokensAuthenticate(w http.ResponseWriter, r *http.Request) {
	var req models.AuthenticateTokenRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	pieces, ok := e.checkTokenHeader(w, req.Header)
	if !ok {
		return
	}
	out := make([]*models.RootVerifiedToken, 0, len(pieces))
	for _, p := range pieces {
		out = append(out, verifiedToken(p))
	}
	writeJSON(w, http.StatusOK, out)
}

// authorizeRequest is models.AuthorizeTokenRequest with access kept raw, so
// its action bit set can be checked with a clear message.
type authorizeRequest struct {
	Header string          `json:"header"`
	Access json.RawMessage `json:"access"`
}

// Validate leaves the checks to the handler.
func (*authorizeRequest) Validate(strfmt.Registry) error { return nil }

func (e *Emulator) tokensAuthorize(w http.ResponseWriter, r *http.Request) {
	var req authorizeRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	access, action, err := parseTokenAccess(req.Access)
	if err != nil {
		invalid(w, "access: %v", err)
		return
	}
	pieces, ok := e.checkTokenHeader(w, req.Header)
	if !ok {
		return
	}
	resp := models.AuthorizeResponse{
		VerifiedToken: verifiedToken(pieces[0]),
		Access: &models.FlyioAccess{
			Action: models.RessetAction(action), AppFeature: access.AppFeature, Command: access.Command,
			Feature: access.OrgFeature, Machine: access.MachineID, MachineFeature: access.MachineFeature,
			Mutation: access.Mutation, SourceMachine: access.SourceMachine, StorageObject: access.StorageObject,
			Volume: access.VolumeID,
		},
	}
	org := access.OrgSlug
	e.mu.Lock()
	defer e.mu.Unlock()
	if access.AppName != "" {
		a := e.st.apps[access.AppName]
		if a == nil {
			writeError(w, http.StatusForbidden, "", fmt.Sprintf("token does not grant access to app %s: no such app", access.AppName))
			return
		}
		resp.Access.Appid = a.num
		org = a.org
	}
	if org != "" {
		resp.Access.Orgid = orgNumber(org)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (e *Emulator) currentTokenShow(w http.ResponseWriter, r *http.Request) {
	// authorize has checked the header's form already.
	pieces, ok := e.checkTokenHeader(w, r.Header.Get("Authorization"))
	if !ok {
		return
	}
	out := make([]*models.MainTokenInfo, 0, len(pieces))
	for _, p := range pieces {
		out = append(out, &models.MainTokenInfo{
			TokenID: "tok_" + tokenHash(p, 8), OrgSlug: e.cfg.defaultOrg, Organization: e.cfg.defaultOrg,
			User: flytestUser, Apps: []string{},
		})
	}
	writeJSON(w, http.StatusOK, models.CurrentTokenResponse{Tokens: out})
}

// tokensRequestKms answers a token string: as a JSON string, or as
// text/plain when the request accepts that and not JSON.
func (e *Emulator) tokensRequestKms(w http.ResponseWriter, r *http.Request) {
	writeTokenString(w, r, "fm2_"+base64.StdEncoding.EncodeToString(randomBytes(64)))
}

// tokensRequestOIDC answers a JWT signed with Ed25519 by a key of the
// process; aud, if given, must be an absolute URL.
func (e *Emulator) tokensRequestOIDC(w http.ResponseWriter, r *http.Request) {
	var req models.CreateOIDCTokenRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if req.Aud != "" {
		if u, err := url.Parse(req.Aud); err != nil || u.Scheme == "" || u.Host == "" {
			invalid(w, "aud must be an absolute URL, got %q", req.Aud)
			return
		}
	}
	org := e.cfg.defaultOrg
	now := e.cfg.clock.Now()
	claims := map[string]any{
		"iss":          "https://oidc.fly.io/" + org,
		"aud":          cmp.Or(req.Aud, "https://oidc.fly.io/"+org),
		"sub":          org + ":flytest:flytest",
		"org_name":     org,
		"app_name":     "flytest",
		"machine_name": "flytest",
		"iat":          now.Unix(),
		"nbf":          now.Unix(),
		"exp":          now.Add(10 * time.Minute).Unix(),
		"jti":          newULID(now),
	}
	if req.AwsPrincipalTags {
		claims["https://aws.amazon.com/tags"] = map[string]any{
			"principal_tags": map[string][]string{"app_name": {"flytest"}, "org_name": {org}},
		}
	}
	writeTokenString(w, r, signJWT(claims))
}

// checkTokenHeader reads an Authorization header value ("FlyV1 a,b" or
// "Bearer t", the scheme optional) into its macaroons. With WithTokens the
// token must be one of them. On failure it has answered (400 malformed,
// 401 not accepted).
func (e *Emulator) checkTokenHeader(w http.ResponseWriter, header string) ([]string, bool) {
	token := strings.TrimSpace(header)
	for _, scheme := range []string{"FlyV1", "Bearer"} {
		if token == scheme {
			token = ""
		} else if rest, ok := strings.CutPrefix(token, scheme+" "); ok {
			token = strings.TrimSpace(rest)
		}
	}
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		invalid(w, "header must hold a token, as 'FlyV1 <macaroons>' or 'Bearer <token>'")
		return nil, false
	}
	if len(e.cfg.tokens) > 0 && !e.cfg.tokens[token] {
		writeError(w, http.StatusUnauthorized, "", "token is not valid")
		return nil, false
	}
	var pieces []string
	for p := range strings.SplitSeq(token, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pieces = append(pieces, p)
		}
	}
	if len(pieces) == 0 {
		invalid(w, "header holds no token")
		return nil, false
	}
	return pieces, true
}

// parseTokenAccess reads access, checking its action bit set.
func parseTokenAccess(raw json.RawMessage) (models.MainTokenAccess, int64, error) {
	var access models.MainTokenAccess
	if len(raw) == 0 || string(raw) == "null" {
		return access, 0, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return access, 0, fmt.Errorf("want an object: %v", err)
	}
	var action int64
	if a, ok := fields["action"]; ok && string(a) != "null" {
		if err := json.Unmarshal(a, &action); err != nil {
			return access, 0, fmt.Errorf("action must be an integer bit set, got %s", a)
		}
		delete(fields, "action")
	}
	if action < 0 || action > 31 {
		return access, 0, fmt.Errorf("action %d is not a bit set of read (1), write (2), create (4), delete (8) and control (16)", action)
	}
	rest, _ := json.Marshal(fields)
	if err := json.Unmarshal(rest, &access); err != nil {
		return access, 0, err
	}
	return access, action, nil
}

func verifiedToken(piece string) *models.RootVerifiedToken {
	sum := sha256.Sum256([]byte(piece))
	return &models.RootVerifiedToken{
		Header:  "FlyV1 " + piece,
		Nonce:   &models.MacaroonNonce{Kid: sum[:16], Rnd: sum[16:]},
		Caveats: &models.MacaroonCaveatSet{Caveats: []any{}},
	}
}

// tokenHash is the first n bytes of a token's SHA-256, in hex.
func tokenHash(token string, n int) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:n])
}

// orgNumber is a stable numeric id for an org slug.
func orgNumber(org string) int64 {
	sum := sha256.Sum256([]byte(org))
	return int64(sum[0])<<16 | int64(sum[1])<<8 | int64(sum[2]) + 1
}

func writeTokenString(w http.ResponseWriter, r *http.Request, token string) {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, token)
		return
	}
	writeJSON(w, http.StatusOK, token)
}

// oidcKey signs the emulator's OIDC tokens; it lives as long as the process.
var oidcKey = sync.OnceValue(func() ed25519.PrivateKey {
	_, priv, _ := ed25519.GenerateKey(nil)
	return priv
})

func signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": "flytest"})
	body, _ := json.Marshal(claims)
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(body)
	return signing + "." + enc.EncodeToString(ed25519.Sign(oidcKey(), []byte(signing)))
}
