package flymachines

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/flymachines/flymachines-go/client/machines"
)

// TestRetryPolicyCoversEveryOperation: a new operation in swagger.json must
// get an explicit retry decision.
func TestRetryPolicyCoversEveryOperation(t *testing.T) {
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
	for _, item := range spec.Paths {
		for method, op := range item {
			seen[op.OperationID] = true
			p, ok := retryPolicy[op.OperationID]
			if !ok {
				t.Errorf("%s has no retry policy", op.OperationID)
			}
			if method == "get" && p != repeatable {
				t.Errorf("%s is a read but not repeatable", op.OperationID)
			}
		}
	}
	for id := range retryPolicy {
		if !seen[id] {
			t.Errorf("retry policy names %s, which the spec does not have", id)
		}
	}
	for _, id := range []string{"Machines_create", "Apps_create", "Volumes_create", "App_IPAssignments_create", "Machines_start", "Machines_exec"} {
		if retryPolicy[id] != notRepeatable {
			t.Errorf("%s must never be resent after an ambiguous failure", id)
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
	_, err := c.Machines.MachinesShowContext(context.Background(),
		machines.NewMachinesShowParams().WithAppName("a").WithMachineID("m"), nil)
	if err == nil {
		t.Fatal("a truncated body decoded")
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests: an unreadable 200 was retried", n)
	}
}
