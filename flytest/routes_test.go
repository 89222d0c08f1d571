package flytest

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/ops"
)

// TestRoutesCoverSpec: the facts table holds exactly the operations of
// swagger.json, at the same method and path, and the emulator serves every
// one of them.
func TestRoutesCoverSpec(t *testing.T) {
	data, err := os.ReadFile("../swagger.json")
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
	want := map[string]string{}
	for path, item := range spec.Paths {
		for method, op := range item {
			want[op.OperationID] = strings.ToUpper(method) + " " + path
		}
	}
	got := map[string]string{}
	for _, rt := range routes() {
		got[rt.op.ID] = rt.pattern
	}
	var problems []string
	for id, pattern := range want {
		if got[id] != pattern {
			problems = append(problems, id+": spec "+pattern+", emulator "+got[id])
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			problems = append(problems, id+": routed but not in the spec")
		}
	}
	for id := range handlers {
		if _, ok := ops.Lookup(id); !ok {
			problems = append(problems, id+": a handler for an operation the table lacks")
		}
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if len(want) != len(ops.All()) {
		t.Errorf("spec has %d operations, the facts table %d", len(want), len(ops.All()))
	}
}
