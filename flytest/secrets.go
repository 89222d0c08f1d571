package flytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// secretNamePattern is what the emulator accepts as a secret or secret key
// name: an environment variable name.
var secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,255}$`)

// secret is one app secret. Guarded by Emulator.mu.
type secret struct {
	name, value          string
	createdAt, updatedAt time.Time
}

func (e *Emulator) secretsList(w http.ResponseWriter, r *http.Request) {
	show := r.URL.Query().Get("show_secrets") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil || !a.checkMinVersion(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, models.AppSecrets{Secrets: a.secretModels(show)})
}

func (e *Emulator) secretGet(w http.ResponseWriter, r *http.Request) {
	show := r.URL.Query().Get("show_secrets") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	a, s := e.lookupSecret(w, r)
	if s == nil || !a.checkMinVersion(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.model(show))
}

func (e *Emulator) secretCreate(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("secret_name")
	if !secretNamePattern.MatchString(name) {
		invalid(w, "secret name %q must be letters, digits and underscores, not starting with a digit", name)
		return
	}
	var req models.SetAppSecretRequest
	raw, ok := decodeBodyRaw(w, r, &req, false)
	if !ok {
		return
	}
	if _, sent := rawFields(raw)["value"]; !sent {
		invalid(w, "value is required")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	s := a.setSecret(name, req.Value, e.cfg.clock.Now())
	v := a.bumpSecretsVersion()
	m := s.model(false)
	writeJSON(w, http.StatusCreated, models.SetAppSecretResponse{
		Name: m.Name, Digest: m.Digest, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Version: v, DeprecatedVersion: v,
	})
}

func (e *Emulator) secretDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, s := e.lookupSecret(w, r)
	if s == nil {
		return
	}
	delete(a.secrets, s.name)
	v := a.bumpSecretsVersion()
	writeJSON(w, http.StatusOK, models.DeleteAppSecretResponse{Version: v, DeprecatedVersion: v})
}

// secretsUpdate sets and removes many secrets at once, as one new version.
// A null value removes the secret; removing one that does not exist is not
// an error.
func (e *Emulator) secretsUpdate(w http.ResponseWriter, r *http.Request) {
	var req models.AppSecretsUpdateRequest
	raw, ok := decodeBodyRaw(w, r, &req, false)
	if !ok {
		return
	}
	// The model reads null as ""; the raw body tells the two apart.
	var values map[string]*string
	if msg, sent := rawFields(raw)["values"]; sent {
		if err := json.Unmarshal(msg, &values); err != nil {
			invalid(w, "values must map names to strings or null: %v", err)
			return
		}
	}
	if len(values) == 0 {
		invalid(w, "values must name at least one secret")
		return
	}
	for name := range values {
		if !secretNamePattern.MatchString(name) {
			invalid(w, "secret name %q must be letters, digits and underscores, not starting with a digit", name)
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	now := e.cfg.clock.Now()
	for name, value := range values {
		if value == nil {
			delete(a.secrets, name)
		} else {
			a.setSecret(name, *value, now)
		}
	}
	v := a.bumpSecretsVersion()
	writeJSON(w, http.StatusOK, models.AppSecretsUpdateResp{Secrets: a.secretModels(false), Version: v, DeprecatedVersion: v})
}

// lookupSecret finds the {secret_name} of the {app_name}, or answers 404.
// Call with e.mu held.
func (e *Emulator) lookupSecret(w http.ResponseWriter, r *http.Request) (*app, *secret) {
	a := e.lookupApp(w, r)
	if a == nil {
		return nil, nil
	}
	name := r.PathValue("secret_name")
	s := a.secrets[name]
	if s == nil {
		notFound(w, "secret %s not found in app %s", name, a.name)
		return a, nil
	}
	return a, s
}

func (a *app) setSecret(name, value string, now time.Time) *secret {
	s := a.secrets[name]
	if s == nil {
		s = &secret{name: name, createdAt: now}
		a.secrets[name] = s
	}
	s.value, s.updatedAt = value, now
	return s
}

// secretsVersion is the app's secrets version: 0 until the first change.
// It is shared by secrets and secret keys and grows with every change to
// either.
func (a *app) secretsVersion() int64 { return a.secretsVer }

func (a *app) bumpSecretsVersion() int64 {
	a.secretsVer++
	return a.secretsVer
}

// secretValues returns the app's secrets by name, as a Machine sees them.
func (a *app) secretValues() map[string]string {
	out := map[string]string{}
	for name, s := range a.secrets {
		out[name] = s.value
	}
	return out
}

// checkMinVersion honours min_version, and version, the name under which
// flaps' ListAppSecrets and GetAppSecrets send the same thing (the version
// a write answered, to read that write): the emulator applies every write
// at once, so a version it has reached is always visible, and one it has
// not reached was never returned by a write: that answers 400.
func (a *app) checkMinVersion(w http.ResponseWriter, r *http.Request) bool {
	want, ok := versionParam(w, r, "min_version")
	if !ok {
		return false
	}
	asVersion, ok := versionParam(w, r, "version")
	if !ok {
		return false
	}
	want = max(want, asVersion)
	if cur := a.secretsVersion(); want > cur {
		invalid(w, "min_version %d is ahead of the app's secrets version %d", want, cur)
		return false
	}
	return true
}

func (a *app) secretModels(show bool) []*models.AppSecret {
	out := []*models.AppSecret{}
	for _, s := range a.secrets {
		out = append(out, s.model(show))
	}
	slices.SortFunc(out, func(x, y *models.AppSecret) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// model describes the secret; its value only when show is set.
func (s *secret) model(show bool) *models.AppSecret {
	m := &models.AppSecret{Name: s.name, Digest: secretDigest(s.value), CreatedAt: wireTime(s.createdAt), UpdatedAt: wireTime(s.updatedAt)}
	if show {
		m.Value = s.value
	}
	return m
}

// secretDigest lets clients compare values without seeing them: the first
// 8 bytes of the value's SHA-256, in hex.
func secretDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:8])
}
