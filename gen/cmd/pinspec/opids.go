package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// clashRenames resolve operationIds that upstream gives to two operations.
// go-swagger keys operations by id and silently keeps one of two that
// share it, so a clash must be settled before anything is generated. A
// rename applies only while its operation still clashes, so it does no
// harm once upstream fixes the document.
var clashRenames = []struct {
	method, path string // the operation to rename
	from, to     string
}{
	// Upstream versions before 2026-08 name both the PUT (replace all
	// metadata, kept for old clients) and the PATCH (merge) of a Machine's
	// metadata Machines_update_metadata; later versions call the PUT
	// Machines_update_metadata_deprecated, as here.
	{"put", "/v1/apps/{app_name}/machines/{machine_id}/metadata", "Machines_update_metadata", "Machines_update_metadata_deprecated"},
}

// settleOperationIDs refuses a document whose operations share an
// operationId, unless clashRenames settles every clash. An operation
// without an id is refused too: the project keys everything by id.
func settleOperationIDs(doc specjson.Object) error {
	type ref struct{ method, path string }
	byID := map[string][]ref{}
	ops := specjson.Operations(doc)
	for _, op := range ops {
		id := specjson.Str(op.Op, "operationId")
		byID[id] = append(byID[id], ref{op.Method, op.Path})
	}
	var problems []string
	for _, id := range specjson.SortedKeys(byID) {
		refs := byID[id]
		if id == "" {
			for _, r := range refs {
				problems = append(problems, fmt.Sprintf("%s %s has no operationId", strings.ToUpper(r.method), r.path))
			}
			continue
		}
		if len(refs) < 2 {
			continue
		}
		renamed := 0
		for _, op := range ops {
			if specjson.Str(op.Op, "operationId") != id {
				continue
			}
			for _, rn := range clashRenames {
				if rn.from == id && rn.method == op.Method && rn.path == op.Path {
					op.Op["operationId"] = rn.to
					renamed++
				}
			}
		}
		if len(refs)-renamed > 1 {
			var where []string
			for _, r := range refs {
				where = append(where, strings.ToUpper(r.method)+" "+r.path)
			}
			slices.Sort(where)
			problems = append(problems, fmt.Sprintf("operationId %s is used by %d operations (%s): add a rename to clashRenames in gen/cmd/pinspec/opids.go",
				id, len(refs), strings.Join(where, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("operationIds:\n  %s", strings.Join(problems, "\n  "))
	}
	// A rename must not create a new clash.
	seen := map[string]bool{}
	for _, op := range specjson.Operations(doc) {
		id := specjson.Str(op.Op, "operationId")
		if seen[id] {
			return fmt.Errorf("operationIds: renaming made %s clash", id)
		}
		seen[id] = true
	}
	return nil
}
