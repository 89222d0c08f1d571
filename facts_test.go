package flymachines

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/ops"
)

// oldRetryTable is the retry decision of every operation as the facade's
// own table (retry_policy.go) had it before the facts moved to
// gen/facts.yaml: true for repeatable. The facts must say the same.
var oldRetryTable = map[string]bool{
	"Apps_list": true, "Apps_show": true, "Apps_create": false, "Apps_delete": true,
	"App_create_deploy_token": false, "App_IPAssignments_list": true,
	"App_IPAssignments_create": false, "App_IPAssignments_delete": true,

	"App_Certificates_list": true, "App_Certificates_show": true,
	"App_Certificates_acme_create": false, "App_Certificates_custom_create": false,
	"App_Certificates_check": true, "App_Certificates_delete": true,
	"App_Certificates_acme_delete": true, "App_Certificates_custom_delete": true,

	"Machines_list": true, "Machines_show": true, "Machines_create": false,
	"Machines_update": false, "Machines_delete": true, "Machines_start": false,
	"Machines_stop": true, "Machines_suspend": true, "Machines_restart": false,
	"Machines_signal": false, "Machines_exec": false, "Machines_wait": true,
	"Machines_cordon": true, "Machines_uncordon": true, "Machines_list_events": true,
	"Machines_list_processes": true, "Machines_list_versions": true,
	"Machines_show_lease": true, "Machines_create_lease": false, "Machines_release_lease": true,
	"Machines_get_memory": true, "Machines_set_memory_limit": true, "Machines_reclaim_memory": false,
	"Machines_show_metadata": true, "Machines_get_metadata_key": true,
	"Machines_update_metadata": true, "Machines_update_metadata_deprecated": true,
	"Machines_upsert_metadata": true, "Machines_delete_metadata": true, "Machines_org_list": true,

	"Volumes_list": true, "Volumes_get_by_id": true, "Volumes_create": false,
	"Volumes_update": true, "Volumes_extend": false, "Volume_delete": true,
	"Volumes_list_snapshots": true, "createVolumeSnapshot": false, "Volumes_org_list": true,

	"Secrets_list": true, "Secrets_update": true, "Secret_get": true, "Secret_create": true,
	"Secret_delete": true, "Secretkeys_list": true, "Secretkey_get": true, "Secretkey_set": true,
	"Secretkey_delete": true, "Secretkey_generate": false, "Secretkey_encrypt": true,
	"Secretkey_decrypt": true, "Secretkey_sign": true, "Secretkey_verify": true,

	"Platform_regions_get": true, "Platform_placements_post": true, "Tokens_authenticate": true,
	"Tokens_authorize": true, "CurrentToken_show": true, "Tokens_request_Kms": true,
	"Tokens_request_OIDC": true,

	"Postgres_list": true, "Postgres_show": true, "Postgres_create": false, "Postgres_delete": true,
	"Postgres_fork": false, "Postgres_restore": false, "Postgres_attachments_create": false,
	"Postgres_attachments_delete": true, "Postgres_backups_list": true, "Postgres_backups_create": false,
	"Postgres_databases_list": true, "Postgres_databases_create": false, "Postgres_databases_delete": true,
	"Postgres_extensions_list": true, "Postgres_extensions_enable": false, "Postgres_extensions_disable": true,
	"Postgres_users_list": true, "Postgres_users_create": false, "Postgres_users_delete": true,
	"Postgres_users_update_role": true, "Postgres_users_credentials": true,
	"Postgres_users_rotate_password": false, "Postgres_queries_active": true, "Postgres_queries_slow": true,
}

// TestFactsCoverEverySpecOperation: every operation of swagger.json has
// facts, with its method and path, and the table names nothing else; a
// read is always repeatable.
func TestFactsCoverEverySpecOperation(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for path, item := range spec.Paths {
		for method, op := range item {
			if method == "parameters" {
				continue
			}
			seen[op.OperationID] = true
			f, ok := ops.Lookup(op.OperationID)
			if !ok {
				t.Errorf("%s has no facts", op.OperationID)
				continue
			}
			if f.Method != strings.ToUpper(method) || f.Path != path {
				t.Errorf("%s: facts say %s %s, the spec %s %s", op.OperationID, f.Method, f.Path, strings.ToUpper(method), path)
			}
			if method == "get" && !f.Repeatable {
				t.Errorf("%s is a read but not repeatable", op.OperationID)
			}
		}
	}
	for _, f := range ops.All() {
		if !seen[f.ID] {
			t.Errorf("the facts name %s, which the spec does not have", f.ID)
		}
		if f.RateClass != "default" && f.RateClass != rateClassGetMachine {
			t.Errorf("%s: rate class %q, which the limiter does not know", f.ID, f.RateClass)
		}
	}
	if len(seen) != len(ops.All()) {
		t.Errorf("%d operations in the spec, %d in the facts", len(seen), len(ops.All()))
	}
}

// TestFactsKeepTheRetryDecisions: the facts decide retries as the
// facade's old table did, operation by operation; and what must never be
// resent blindly is not.
func TestFactsKeepTheRetryDecisions(t *testing.T) {
	t.Parallel()
	for _, f := range ops.All() {
		want, ok := oldRetryTable[f.ID]
		if !ok {
			t.Errorf("%s is new: decide its retries here too", f.ID)
			continue
		}
		if f.Repeatable != want {
			t.Errorf("%s: repeatable %v, the old table said %v", f.ID, f.Repeatable, want)
		}
	}
	for _, id := range []string{ops.MachinesCreate, ops.AppsCreate, ops.VolumesCreate, ops.IPAssignmentsCreate, ops.MachinesStart, ops.MachinesExec} {
		if opFacts(id).Repeatable {
			t.Errorf("%s must never be resent after an ambiguous failure", id)
		}
	}
}

// TestFactsOfTheSpecialCases: what used to be special cases spread over
// the facade (the lease nonce's method rule, Machines_show's rate limit,
// Machines_wait's 408) is in the facts, for those operations only.
func TestFactsOfTheSpecialCases(t *testing.T) {
	t.Parallel()
	var getMachine, longPoll, leased []string
	for _, f := range ops.All() {
		if f.RateClass == rateClassGetMachine {
			getMachine = append(getMachine, f.ID)
		}
		if f.LongPoll {
			longPoll = append(longPoll, f.ID)
		}
		if f.LeaseNonce {
			leased = append(leased, f.ID)
			if f.Method == http.MethodGet || !strings.Contains(f.Path, "{machine_id}") {
				t.Errorf("%s carries the lease nonce but is a %s of %s", f.ID, f.Method, f.Path)
			}
		}
	}
	if !slices.Equal(getMachine, []string{ops.MachinesShow}) {
		t.Errorf("rate class get_machine: %v, want Machines_show alone", getMachine)
	}
	if !slices.Equal(longPoll, []string{ops.MachinesWait}) {
		t.Errorf("long polls: %v, want Machines_wait alone", longPoll)
	}
	// The mutations Fly's own client (flaps) sends the nonce on must be
	// among them; the lease calls themselves pass it by hand.
	for _, id := range []string{ops.MachinesUpdate, ops.MachinesStart, ops.MachinesStop, ops.MachinesRestart,
		ops.MachinesDelete, ops.MachinesCordon, ops.MachinesUncordon, ops.MachinesSuspend} {
		if !slices.Contains(leased, id) {
			t.Errorf("%s does not carry the lease nonce", id)
		}
	}
	for _, id := range []string{ops.LeasesCreate, ops.LeasesRelease, ops.LeasesShow, ops.MachinesCreate} {
		if slices.Contains(leased, id) {
			t.Errorf("%s carries the lease nonce of a context", id)
		}
	}
}

func TestUnreadableSuccessIsNotRetried(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": 42`) // truncated
	})
	c := newTestClient(t, rec.URL)
	_, err := c.Machines.Show(context.Background(), "a", "m", nil)
	if err == nil {
		t.Fatal("a truncated body decoded")
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests: an unreadable 200 was retried", n)
	}
}
