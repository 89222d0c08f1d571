package flytest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// wireTime formats t as the API writes timestamps in string fields: RFC 3339
// in UTC with millisecond precision.
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// regionKnown reports whether code is one of the emulator's platform regions.
func (e *Emulator) regionKnown(code string) bool {
	return slices.Contains(e.cfg.regions, code)
}

// rawFields splits a JSON object body into its top-level fields, so a handler
// can tell a field sent as false, 0 or null from one left out: the generated
// models drop that difference (omitempty, non-pointer fields). A body that is
// not an object gives an empty map; decodeBody has already rejected it.
func rawFields(raw []byte) map[string]json.RawMessage {
	fields := map[string]json.RawMessage{}
	_ = json.Unmarshal(raw, &fields)
	return fields
}

// boolOr is *b, or def when b is nil (the field was absent).
func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// randomBytes returns n bytes from the system's secure random source.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// randomBase64 returns n random bytes in unpadded URL-safe base64.
func randomBase64(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

const lowerAlnum = "0123456789abcdefghijklmnopqrstuvwxyz"

// randomAlnum returns n random lowercase letters and digits, the alphabet of
// volume and snapshot ids.
func randomAlnum(n int) string {
	b := randomBytes(n)
	for i := range b {
		b[i] = lowerAlnum[int(b[i])%len(lowerAlnum)]
	}
	return string(b)
}

// versionParam reads an optional non-negative integer query parameter such
// as min_version. ok is false, and the answer 400 written, when it is
// malformed.
func versionParam(w http.ResponseWriter, r *http.Request, name string) (v int64, ok bool) {
	value := r.URL.Query().Get(name)
	if value == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 0 {
		invalid(w, "%s must be a non-negative integer, got %q", name, value)
		return 0, false
	}
	return n, true
}
