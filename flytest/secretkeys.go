package flytest

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/models"
)

// secretKeyNamePattern is what the emulator accepts as a secret key's
// label. Unlike a secret, a key never becomes an environment variable, and
// flyctl labels keys "name-v1", with a dash.
var secretKeyNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,255}$`)

// secretKey is one app secret key. Guarded by Emulator.mu. The key material
// never leaves the emulator; only the public key of asymmetric types does.
type secretKey struct {
	name                 string
	typ                  *keyType
	key, public          []byte
	createdAt, updatedAt time.Time
}

func (e *Emulator) secretkeysList(w http.ResponseWriter, r *http.Request) {
	var types []string
	if s := r.URL.Query().Get("types"); s != "" {
		for t := range strings.SplitSeq(s, ",") {
			types = append(types, strings.TrimSpace(t))
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil || !a.checkMinVersion(w, r) {
		return
	}
	out := []*models.SecretKey{}
	for _, k := range a.secretKeys {
		if types == nil || slices.Contains(types, k.typ.name) {
			out = append(out, k.model())
		}
	}
	slices.SortFunc(out, func(x, y *models.SecretKey) int { return strings.Compare(x.Name, y.Name) })
	writeJSON(w, http.StatusOK, models.SecretKeys{SecretKeys: out})
}

func (e *Emulator) secretkeyGet(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, k := e.lookupSecretKey(w, r)
	if k == nil {
		return
	}
	writeJSON(w, http.StatusOK, k.model())
}

func (e *Emulator) secretkeySet(w http.ResponseWriter, r *http.Request) {
	e.storeSecretKey(w, r, false)
}

func (e *Emulator) secretkeyGenerate(w http.ResponseWriter, r *http.Request) {
	e.storeSecretKey(w, r, true)
}

// storeSecretKey serves set (key material from the body) and generate
// (random key material); either replaces a key of the same name.
func (e *Emulator) storeSecretKey(w http.ResponseWriter, r *http.Request, generate bool) {
	name := r.PathValue("secret_name")
	if !secretKeyNamePattern.MatchString(name) {
		invalid(w, "secret key name %q must be letters, digits, underscores and dashes, starting with a letter or underscore", name)
		return
	}
	var req models.SetSecretkeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	kt := keyTypes[req.Type]
	if kt == nil {
		invalid(w, "type %q is not a secret key type: want one of %s", req.Type, strings.Join(keyTypeNames(), ", "))
		return
	}
	key := []byte(req.Value)
	switch {
	case generate && len(key) > 0:
		invalid(w, "generate makes its own key: leave value out, or use set to supply one")
		return
	case generate:
		for {
			key = randomBytes(kt.genLen)
			if kt.checkKey(key) == nil { // rarely false: an es256 scalar past the group order
				break
			}
		}
	case len(key) == 0:
		invalid(w, "value (the key material, base64) is required")
		return
	}
	if err := kt.checkKey(key); err != nil {
		invalid(w, "%v", err)
		return
	}
	var public []byte
	if kt.public != nil {
		public, _ = kt.public(key)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	now := e.cfg.clock.Now()
	k := a.secretKeys[name]
	if k == nil {
		k = &secretKey{name: name, createdAt: now}
		a.secretKeys[name] = k
	}
	k.typ, k.key, k.public, k.updatedAt = kt, key, public, now
	v := a.bumpSecretsVersion()
	m := k.model()
	writeJSON(w, http.StatusCreated, models.SetSecretkeyResponse{
		Name: m.Name, Type: m.Type, PublicKey: m.PublicKey, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Version: v, DeprecatedVersion: v,
	})
}

func (e *Emulator) secretkeyDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, k := e.lookupSecretKey(w, r)
	if k == nil {
		return
	}
	delete(a.secretKeys, k.name)
	v := a.bumpSecretsVersion()
	writeJSON(w, http.StatusOK, models.DeleteSecretkeyResponse{Version: v, DeprecatedVersion: v})
}

func (e *Emulator) secretkeyEncrypt(w http.ResponseWriter, r *http.Request) {
	var req models.EncryptSecretkeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	key, kt := e.secretKeyFor(w, r, "encrypt", func(kt *keyType) bool { return kt.encrypt != nil })
	if key == nil {
		return
	}
	ct, err := kt.encrypt(key, req.Plaintext, req.AssociatedData)
	if err != nil {
		invalid(w, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, models.EncryptSecretkeyResponse{Ciphertext: ct})
}

func (e *Emulator) secretkeyDecrypt(w http.ResponseWriter, r *http.Request) {
	var req models.DecryptSecretkeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if len(req.Ciphertext) == 0 {
		invalid(w, "ciphertext is required")
		return
	}
	key, kt := e.secretKeyFor(w, r, "decrypt", func(kt *keyType) bool { return kt.decrypt != nil })
	if key == nil {
		return
	}
	pt, err := kt.decrypt(key, req.Ciphertext, req.AssociatedData)
	if err != nil {
		invalid(w, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, models.DecryptSecretkeyResponse{Plaintext: strfmt.Base64(pt)})
}

func (e *Emulator) secretkeySign(w http.ResponseWriter, r *http.Request) {
	var req models.SignSecretkeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	key, kt := e.secretKeyFor(w, r, "sign", func(kt *keyType) bool { return kt.sign != nil })
	if key == nil {
		return
	}
	sig, err := kt.sign(key, req.Plaintext)
	if err != nil {
		invalid(w, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, models.SignSecretkeyResponse{Signature: sig})
}

// secretkeyVerify answers 204 when the signature matches and 400 when it
// does not.
func (e *Emulator) secretkeyVerify(w http.ResponseWriter, r *http.Request) {
	var req models.VerifySecretkeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if len(req.Signature) == 0 {
		invalid(w, "signature is required")
		return
	}
	key, kt := e.secretKeyFor(w, r, "verify", func(kt *keyType) bool { return kt.verify != nil })
	if key == nil {
		return
	}
	if !kt.verify(key, req.Plaintext, req.Signature) {
		invalid(w, "signature does not match")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// secretKeyFor finds the key of a crypto operation and checks that its type
// supports the operation. It copies the key material out, so the crypto
// runs without the emulator's lock. On failure it has answered and returns
// a nil key.
func (e *Emulator) secretKeyFor(w http.ResponseWriter, r *http.Request, op string, can func(*keyType) bool) ([]byte, *keyType) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, k := e.lookupSecretKey(w, r)
	if k == nil {
		return nil, nil
	}
	if !can(k.typ) {
		var able []string
		for _, n := range keyTypeNames() {
			if can(keyTypes[n]) {
				able = append(able, n)
			}
		}
		invalid(w, "secret key %s is of type %s, which cannot %s: types that can are %s", k.name, k.typ.name, op, strings.Join(able, ", "))
		return nil, nil
	}
	return slices.Clone(k.key), k.typ
}

// lookupSecretKey finds the {secret_name} key of the {app_name} after
// honouring min_version, or answers. Call with e.mu held.
func (e *Emulator) lookupSecretKey(w http.ResponseWriter, r *http.Request) (*app, *secretKey) {
	a := e.lookupApp(w, r)
	if a == nil || !a.checkMinVersion(w, r) {
		return nil, nil
	}
	name := r.PathValue("secret_name")
	k := a.secretKeys[name]
	if k == nil {
		notFound(w, "secret key %s not found in app %s", name, a.name)
		return a, nil
	}
	return a, k
}

func (k *secretKey) model() *models.SecretKey {
	return &models.SecretKey{
		Name: k.name, Type: k.typ.name, PublicKey: slices.Clone(k.public),
		CreatedAt: wireTime(k.createdAt), UpdatedAt: wireTime(k.updatedAt),
	}
}
