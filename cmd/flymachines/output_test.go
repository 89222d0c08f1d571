package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
)

// hostileToken is what the user's FLY_API_TOKEN holds in these tests; the
// server echoes it back.
const hostileToken = "fm2_hostileServerTest/Token+0123=="

// hostileEchoes are the token as a server may echo it.
var hostileEchoes = []string{
	hostileToken,
	url.QueryEscape("FlyV1 " + hostileToken),
	strings.ReplaceAll(hostileToken, "/", `\/`),
	base64.StdEncoding.EncodeToString([]byte(hostileToken)),
}

// terminalAttacks are values a server may send to take over a terminal:
// an OSC title change, ANSI colour and screen clearing, an 8-bit CSI, a
// bidi override, a bare carriage return.
var terminalAttacks = []string{"\x1b]0;pwned\x07", "\x1b[31m", "\x1b[2J", "\u009b6n", "\u202e", "\rfake"}

// hostileAPI answers the calls of `machines list|get|wait` with a Machine
// whose every field holds terminal escapes and the caller's token.
func hostileAPI(t *testing.T) {
	t.Helper()
	machine := map[string]any{
		"id": "3d8d413b29d089", "name": "web" + terminalAttacks[0], "state": "started" + terminalAttacks[1],
		"region": "ord" + terminalAttacks[3], "updated_at": "2026-01-02T03:04:05Z" + terminalAttacks[4],
		"config": map[string]any{"image": "nginx" + terminalAttacks[2] + terminalAttacks[5],
			"env": map[string]string{"A": hostileEchoes[0], "B": hostileEchoes[1], "C": hostileEchoes[2], "D": hostileEchoes[3]}},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/apps/hostile/machines", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode([]any{machine})
	})
	mux.HandleFunc("GET /v1/apps/hostile/machines/3d8d413b29d089", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(machine)
	})
	mux.HandleFunc("GET /v1/apps/hostile/machines/3d8d413b29d089/wait", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "state": "started" + terminalAttacks[1] + hostileToken})
	})
	mux.HandleFunc("GET /v1/apps/hostile/machines/bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("nope" + strings.Join(terminalAttacks, "") + strings.Join(hostileEchoes, " ")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv(flymachines.EnvAPIHostname, srv.URL)
	t.Setenv(flymachines.EnvAPIToken, hostileToken)
	t.Setenv(flymachines.EnvAccessToken, "")
}

// checkTerminalSafe fails if out holds a terminal control or the token.
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, unsafeRune); i >= 0 {
		t.Errorf("%s: a control character %q at %d:\n%q", what, []rune(out[i:])[0], i, out)
	}
	for _, echo := range hostileEchoes {
		if strings.Contains(out, echo) {
			t.Errorf("%s: the token (%s) in the output:\n%s", what, echo, out)
		}
	}
}

// TestOutputIsTerminalSafe: what the API sends reaches the terminal as
// text: no escape sequence, no control character, no bidi override, and
// not the user's token in any of the forms a server echoes it; `machines
// get` still prints valid JSON with the exact values.
func TestOutputIsTerminalSafe(t *testing.T) {
	hostileAPI(t)
	for _, args := range [][]string{
		{"machines", "list", "--app", "hostile"},
		{"machines", "get", "--app", "hostile", "3d8d413b29d089"},
		{"machines", "get", "--app", "hostile", "bad"},
		{"machines", "wait", "--app", "hostile", "--timeout", "5s", "bad"},
		{"machines", "wait", "--app", "hostile", "--timeout", "5s", "3d8d413b29d089"},
	} {
		_, out, errOut := flymachinesCmd(t, args...)
		if out+errOut == "" {
			t.Errorf("%v printed nothing", args)
		}
		checkTerminalSafe(t, strings.Join(args, " ")+" (stdout)", out)
		checkTerminalSafe(t, strings.Join(args, " ")+" (stderr)", errOut)
		if args[1] == "get" && args[4] != "bad" {
			var m struct {
				Name   string `json:"name"`
				Config struct {
					Env map[string]string `json:"env"`
				} `json:"config"`
			}
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("get printed invalid JSON: %v\n%s", err, out)
			}
			if m.Name != "web"+terminalAttacks[0] || m.Config.Env["A"] != "[REDACTED]" {
				t.Errorf("get changed the values: name %q, env %v", m.Name, m.Config.Env)
			}
		}
	}
}

func TestTerminalSafeAcrossWrites(t *testing.T) {
	var b strings.Builder
	o := newSafeOutput(&b, nil)
	full := "é✓\x1b[31m" + "\u009b"
	for i := range len(full) {
		_, _ = o.Write([]byte(full[i : i+1]))
	}
	_ = o.Flush()
	if got, want := b.String(), "é✓\uFFFD[31m\uFFFD"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
