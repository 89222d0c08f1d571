package flytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/go-openapi/strfmt"
)

// maxBody bounds request bodies, so a hostile client cannot exhaust memory.
const maxBody = 4 << 20

// writeJSON answers status with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the body of every error answer: {"error": ..., "status": ...}
// as the real API sends it.
type apiError struct {
	Error  string `json:"error"`
	Status string `json:"status,omitempty"`
}

// writeError answers status with the API's error body. code is the
// machine-readable status ("name_taken", "insufficient_capacity"), or "".
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: msg, Status: code})
}

// invalid answers 400 the way the API reports bad input.
func invalid(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "", "invalid_argument: "+fmt.Sprintf(format, args...))
}

func notFound(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusNotFound, "", fmt.Sprintf(format, args...))
}

// validatable is what every generated model implements.
type validatable interface {
	Validate(strfmt.Registry) error
}

// decodeBody reads a JSON request body into v (a generated model) and
// validates it against the spec's rules. On failure it has answered 400 and
// returns false. An empty body is accepted when optional is true.
func decodeBody(w http.ResponseWriter, r *http.Request, v validatable, optional bool) bool {
	_, ok := decodeBodyRaw(w, r, v, optional)
	return ok
}

// decodeBodyRaw is decodeBody that also returns the raw body.
func decodeBodyRaw(w http.ResponseWriter, r *http.Request, v validatable, optional bool) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The server's read limit (ReadTimeout) passed mid-body.
		writeError(w, http.StatusRequestTimeout, "", "deadline_exceeded: the request body did not arrive in time")
		return nil, false
	}
	if err != nil {
		invalid(w, "read body: %v", err)
		return nil, false
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "", "request body too large")
		return nil, false
	}
	if len(body) == 0 {
		if optional {
			return body, true
		}
		invalid(w, "a request body is required")
		return nil, false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			invalid(w, "malformed JSON at byte %d", syn.Offset)
		case errors.As(err, &typ):
			invalid(w, "field %q: want %s, got %s", typ.Field, typ.Type, typ.Value)
		default:
			invalid(w, "%v", err)
		}
		return nil, false
	}
	if err := v.Validate(strfmt.Default); err != nil {
		invalid(w, "%v", err)
		return nil, false
	}
	return body, true
}
