package flytest

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestRoutesCoverSpec: the emulator serves exactly the operations of
// swagger.json, at the same method and path.
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
	for _, rt := range routes {
		if _, dup := got[rt.id]; dup {
			t.Errorf("operation %s routed twice", rt.id)
		}
		got[rt.id] = rt.pattern
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
	sort.Strings(problems)
	for _, p := range problems {
		t.Error(p)
	}
	if len(want) != 100 {
		t.Errorf("spec has %d operations, want 100", len(want))
	}
}
