package flytest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// These tests read the emulator's answers as raw JSON: a field sent as 0,
// "" or null reads the same as a field left out once decoded into a model,
// and the point is what goes on the wire.

// wireCall sends a raw request and decodes the answer as a JSON object.
func wireCall(t *testing.T, en *env, method, path, body string, want int) map[string]json.RawMessage {
	t.Helper()
	status, text := rawCall(t, en.srv, method, path, body)
	if status != want {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, status, text, want)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		t.Fatalf("%s %s: %s is not a JSON object: %v", method, path, text, err)
	}
	return obj
}

// wantSent checks that obj carries each key with exactly the raw value.
func wantSent(t *testing.T, what string, obj map[string]json.RawMessage, want map[string]string) {
	t.Helper()
	for k, v := range want {
		got, ok := obj[k]
		switch {
		case !ok:
			t.Errorf("%s: %s is left out, want %s", what, k, v)
		case string(got) != v:
			t.Errorf("%s: %s = %s, want %s", what, k, got, v)
		}
	}
}

func TestWireApp(t *testing.T) {
	en := newEnv(t)
	created := wireCall(t, en, http.MethodPost, "/v1/apps", `{"name":"wire-app","org_slug":"personal","app_role_id":"remote-docker-builder"}`, http.StatusCreated)
	wantSent(t, "create", created, map[string]string{
		"name": `"wire-app"`, "status": `"pending"`, "organization": `{"name":"personal","slug":"personal"}`,
		"machine_count": "0", "volume_count": "0", "network": `"default"`, "app_role": `"remote-docker-builder"`,
	})
	if _, ok := created["created_at"]; !ok {
		t.Error("create: created_at is left out")
	}
	shown := wireCall(t, en, http.MethodGet, "/v1/apps/wire-app", "", http.StatusOK)
	wantSent(t, "show", shown, map[string]string{"machine_count": "0", "network": `"default"`, "status": `"pending"`})

	status, body := rawCall(t, en.srv, http.MethodGet, "/v1/apps?org_slug=personal&app_role=remote-docker-builder", "")
	if status != http.StatusOK || !strings.Contains(body, `"wire-app"`) || strings.Contains(body, `"`+testApp+`"`) {
		t.Errorf("list by app_role: HTTP %d %s, want wire-app alone", status, body)
	}
	status, body = rawCall(t, en.srv, http.MethodGet, "/v1/apps/no-such-app", "")
	if status != http.StatusNotFound || !strings.Contains(body, `"app not found"`) {
		t.Errorf("unknown app: HTTP %d %s, want 404 \"app not found\"", status, body)
	}
}

func TestWireStartAndExit(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	start := wireCall(t, en, http.MethodPost, "/v1/apps/"+testApp+"/machines/"+m.ID+"/start", "", http.StatusOK)
	wantSent(t, "start", start, map[string]string{"previous_state": `"stopped"`, "migrated": "false", "new_host": `""`})

	status, body := rawCall(t, en.srv, http.MethodGet, "/v1/apps/"+testApp+"/machines/"+m.ID+"/events", "")
	var events []struct {
		Type    string `json:"type"`
		Request struct {
			ExitEvent map[string]json.RawMessage `json:"exit_event"`
		} `json:"request"`
	}
	if err := json.Unmarshal([]byte(body), &events); status != http.StatusOK || err != nil {
		t.Fatalf("events: HTTP %d %s: %v", status, body, err)
	}
	for _, ev := range events {
		if ev.Type == "exit" {
			wantSent(t, "exit event", ev.Request.ExitEvent, map[string]string{"error": `""`, "guest_error": `""`, "oom_killed": "false"})
			return
		}
	}
	t.Error("no exit event after a stop")
}

func TestWireMachineAutostopAndIncompleteConfig(t *testing.T) {
	en := newEnv(t)
	body := `{"config":{"image":"nginx","services":[` +
		`{"internal_port":80,"protocol":"tcp","autostop":"stop"},` +
		`{"internal_port":81,"protocol":"tcp","autostop":"off"},` +
		`{"internal_port":82,"protocol":"tcp","autostop":"suspend"},` +
		`{"internal_port":83,"protocol":"tcp","autostop":true}]}}`
	created := wireCall(t, en, http.MethodPost, "/v1/apps/"+testApp+"/machines", body, http.StatusOK)
	wantSent(t, "create", created, map[string]string{"incomplete_config": "null"})
	var cfg struct {
		Services []struct {
			Autostop json.RawMessage `json:"autostop"`
		} `json:"services"`
	}
	if err := json.Unmarshal(created["config"], &cfg); err != nil || len(cfg.Services) != 4 {
		t.Fatalf("config %s: %v", created["config"], err)
	}
	// The API answers off and stop as booleans (fly-go writes them so),
	// suspend as a string.
	for i, want := range []string{"true", "false", `"suspend"`, "true"} {
		if got := string(cfg.Services[i].Autostop); got != want {
			t.Errorf("service %d: autostop %s, want %s", i, got, want)
		}
	}
	var id string
	_ = json.Unmarshal(created["id"], &id)
	status, versions := rawCall(t, en.srv, http.MethodGet, "/v1/apps/"+testApp+"/machines/"+id+"/versions", "")
	if status != http.StatusOK || !strings.Contains(versions, `"autostop":true`) || strings.Contains(versions, `"autostop":"stop"`) {
		t.Errorf("versions: HTTP %d %s, want autostop as the API writes it", status, versions)
	}
}

func TestWireVolumeAndSnapshot(t *testing.T) {
	en := newEnv(t)
	vol := wireCall(t, en, http.MethodPost, "/v1/apps/"+testApp+"/volumes", `{"name":"data","region":"ord","size_gb":1,"encrypted":false,"auto_backup_enabled":false}`, http.StatusOK)
	wantSent(t, "volume", vol, map[string]string{
		"attached_machine_id": "null", "attached_alloc_id": "null", "host_dedication_key": `""`,
		"encrypted": "false", "auto_backup_enabled": "false", "bytes_used": "0",
	})
	var id string
	_ = json.Unmarshal(vol["id"], &id)
	if status, body := rawCall(t, en.srv, http.MethodPost, "/v1/apps/"+testApp+"/volumes/"+id+"/snapshots", ""); status != http.StatusOK {
		t.Fatalf("snapshot: HTTP %d %s", status, body)
	}
	status, body := rawCall(t, en.srv, http.MethodGet, "/v1/apps/"+testApp+"/volumes/"+id+"/snapshots", "")
	var snaps []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &snaps); status != http.StatusOK || err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots: HTTP %d %s: %v", status, body, err)
	}
	wantSent(t, "snapshot of an empty volume", snaps[0], map[string]string{"size": "0"})

	cfg := `{"config":{"image":"postgres","mounts":[{"volume":"` + id + `","path":"/data"}]}}`
	m := wireCall(t, en, http.MethodPost, "/v1/apps/"+testApp+"/machines", cfg, http.StatusOK)
	shown := wireCall(t, en, http.MethodGet, "/v1/apps/"+testApp+"/volumes/"+id, "", http.StatusOK)
	wantSent(t, "attached volume", shown, map[string]string{"attached_machine_id": string(m["id"]), "attached_alloc_id": "null"})
}

func TestWireLease(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	lease := wireCall(t, en, http.MethodPost, "/v1/apps/"+testApp+"/machines/"+m.ID+"/lease?ttl=300", "", http.StatusCreated)
	var data map[string]json.RawMessage
	if err := json.Unmarshal(lease["data"], &data); err != nil {
		t.Fatalf("lease %v: %v", lease, err)
	}
	wantSent(t, "lease", data, map[string]string{"description": `""`})
	var expires int64
	_ = json.Unmarshal(data["expires_at"], &expires)
	// ttl in the query string, where flaps sends it, sets the length.
	if left := expires - en.srv.cfg.clock.Now().Unix(); left < 290 || left > 300 {
		t.Errorf("lease expires in %ds, want the 300 of ttl", left)
	}
}

// TestFlyToolsParameters: what Fly's own client sends that the spec lacks
// is honoured: kill on destroy, include_deleted as a bare flag, version on
// the secrets list.
func TestFlyToolsParameters(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	base := "/v1/apps/" + testApp + "/machines"
	if status, body := rawCall(t, en.srv, http.MethodDelete, base+"/"+m.ID+"?kill=false", ""); status != http.StatusPreconditionFailed {
		t.Errorf("destroy of a started Machine with kill=false: HTTP %d %s, want 412", status, body)
	}
	if status, body := rawCall(t, en.srv, http.MethodDelete, base+"/"+m.ID+"?kill=true", ""); status != http.StatusOK {
		t.Fatalf("destroy with kill=true: HTTP %d %s", status, body)
	}
	en.waitFor(m.ID, stateDestroyed)
	for query, listed := range map[string]bool{"": false, "?include_deleted=false": false, "?include_deleted": true, "?include_deleted=": true, "?include_deleted=true": true} {
		status, body := rawCall(t, en.srv, http.MethodGet, base+query, "")
		if status != http.StatusOK || strings.Contains(body, m.ID) != listed {
			t.Errorf("list%s: HTTP %d, destroyed Machine listed %t, want %t", query, status, strings.Contains(body, m.ID), listed)
		}
	}
	if status, _ := rawCall(t, en.srv, http.MethodGet, base+"?include_deleted=maybe", ""); status != http.StatusBadRequest {
		t.Errorf("include_deleted=maybe: HTTP %d, want 400", status)
	}

	secrets := "/v1/apps/" + testApp + "/secrets"
	if status, body := rawCall(t, en.srv, http.MethodPost, secrets+"/TOKEN", `{"value":"x"}`); status != http.StatusCreated {
		t.Fatalf("set secret: HTTP %d %s", status, body)
	}
	if status, body := rawCall(t, en.srv, http.MethodGet, secrets+"?version=1", ""); status != http.StatusOK {
		t.Errorf("list at the version written: HTTP %d %s", status, body)
	}
	if status, _ := rawCall(t, en.srv, http.MethodGet, secrets+"?version=2", ""); status != http.StatusBadRequest {
		t.Errorf("list at a version not reached: HTTP %d, want 400", status)
	}
	if status, _ := rawCall(t, en.srv, http.MethodGet, secrets+"/TOKEN?version=2", ""); status != http.StatusBadRequest {
		t.Errorf("get at a version not reached: HTTP %d, want 400", status)
	}
}

func TestWireCertificates(t *testing.T) {
	en := newEnv(t)
	base := "/v1/apps/" + testApp + "/certificates"
	created := wireCall(t, en, http.MethodPost, base+"/acme", `{"hostname":"www.example.com"}`, http.StatusCreated)
	wantSent(t, "acme create", created, map[string]string{"configured": "false", "rate_limited_until": "null"})
	var validation map[string]json.RawMessage
	if err := json.Unmarshal(created["validation"], &validation); err != nil {
		t.Fatal(err)
	}
	wantSent(t, "validation", validation, map[string]string{"dns_configured": "false", "alpn_configured": "false", "http_configured": "false", "ownership_txt_configured": "false"})
	list := wireCall(t, en, http.MethodGet, base, "", http.StatusOK)
	var certs []map[string]json.RawMessage
	if err := json.Unmarshal(list["certificates"], &certs); err != nil || len(certs) != 1 {
		t.Fatalf("list %v: %v", list, err)
	}
	wantSent(t, "summary", certs[0], map[string]string{"configured": "false", "has_custom_certificate": "false", "has_fly_certificate": "false", "acme_dns_configured": "false"})
}
