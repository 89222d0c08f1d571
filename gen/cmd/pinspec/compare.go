package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// compareWithPinned lists what differs between the spec pinned at path and
// a fresh pin: operations and definitions added, removed or changed, and
// anything else by top-level key. The provenance (source, date, checksum)
// is not a difference: the same facts from another copy have not moved.
func compareWithPinned(path string, fresh specjson.Object) ([]string, error) {
	old, err := specjson.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return specDiff(old, fresh), nil
}

// specDiff names the differences between two pinned specs, old to new.
func specDiff(old, fresh specjson.Object) []string {
	var moved []string
	opsOf := func(doc specjson.Object) map[string]any {
		m := map[string]any{}
		for _, op := range specjson.Operations(doc) {
			m[specjson.Str(op.Op, "operationId")+" ("+strings.ToUpper(op.Method)+" "+op.Path+")"] = op.Op
		}
		return m
	}
	moved = append(moved, diffKeys("operation", opsOf(old), opsOf(fresh))...)
	moved = append(moved, diffKeys("definition", specjson.Obj(old, "definitions"), specjson.Obj(fresh, "definitions"))...)
	rest := func(doc specjson.Object) map[string]any {
		m := map[string]any{}
		for k, v := range doc {
			if k == "paths" || k == "definitions" {
				continue
			}
			if k == "info" {
				info := map[string]any{}
				for ik, iv := range v.(specjson.Object) {
					info[ik] = iv
				}
				// Where and when it was pinned is no fact about the API.
				delete(info, "x-pinned-from")
				v = info
			}
			m[k] = v
		}
		return m
	}
	moved = append(moved, diffKeys("top-level", rest(old), rest(fresh))...)
	return moved
}

func diffKeys(kind string, old, fresh map[string]any) []string {
	var out []string
	for _, k := range specjson.SortedKeys(old) {
		nv, ok := fresh[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("removed %s %s", kind, k))
		case !reflect.DeepEqual(old[k], nv):
			out = append(out, fmt.Sprintf("changed %s %s", kind, k))
		}
	}
	for _, k := range specjson.SortedKeys(fresh) {
		if _, ok := old[k]; !ok {
			out = append(out, fmt.Sprintf("added %s %s", kind, k))
		}
	}
	return out
}
