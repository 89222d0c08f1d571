package flymachines

import (
	"encoding/json"
	"os"
	"testing"
)

// TestRetryPolicyCoversEveryOperation: a new operation in swagger.json must
// get an explicit retry decision.
func TestRetryPolicyCoversEveryOperation(t *testing.T) {
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
