package flytest

import (
	"net/http"
	"strings"
)

// authorize checks the Authorization header the way the API does: a Bearer
// or FlyV1 token must be present (but for a Machine asking its own API
// socket about itself); with WithTokens, it must be one of them.
// On failure it has answered 401.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	switch {
	case h == "" && fromOwnSocket(r):
		return true // a Machine asks its own socket about itself
	case h == "":
		writeError(w, http.StatusUnauthorized, "", "missing authorization header")
		return false
	case !ok || (scheme != "Bearer" && scheme != "FlyV1") || token == "" || strings.ContainsAny(token, " \t\r\n"):
		writeError(w, http.StatusUnauthorized, "", "malformed authorization header: want 'Bearer <token>' or 'FlyV1 <token>'")
		return false
	case len(e.cfg.tokens) > 0 && !e.cfg.tokens[token]:
		writeError(w, http.StatusUnauthorized, "", "token is not authorized")
		return false
	}
	return true
}
