package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

const (
	newestSource = "../../../../shared/upstream/machines-openapi3.json"
	swagger2026  = "../../../../shared/upstream/machines-swagger2-2026-03.json"
)

func pinFile(t *testing.T, path string) specjson.Object {
	t.Helper()
	raw := readUpstream(t, filepath.Base(path))
	doc, err := Pin(raw, Provenance{Source: path, Date: "2026-11-23"})
	if err != nil {
		t.Fatalf("pin %s: %v", path, err)
	}
	return doc
}

// opKey names an operation by method and full path, the facts a client
// calls; operationIds are compared separately.
func opKey(op specjson.Operation) string { return strings.ToUpper(op.Method) + " " + op.Path }

// typeOf describes a parameter or schema type in one comparable string.
func typeOf(doc specjson.Object, s specjson.Object) string {
	if s == nil {
		return "none"
	}
	if ref := specjson.Str(s, "$ref"); ref != "" {
		return "ref " + strings.TrimPrefix(ref, "#/definitions/")
	}
	if all := specjson.Arr(s, "allOf"); len(all) == 1 {
		return typeOf(doc, all[0].(specjson.Object))
	}
	t := specjson.Str(s, "type")
	if t == "array" {
		return "array of " + typeOf(doc, specjson.Obj(s, "items"))
	}
	if f := specjson.Str(s, "format"); f != "" {
		t += "/" + f
	}
	if t == "" && s["properties"] != nil {
		t = "object"
	}
	if t == "" {
		t = "any"
	}
	return t
}

// crossCheck lists every difference, in the facts a client depends on,
// between the operations and schemas the older document shares with the
// newer one.
func crossCheck(older, newer specjson.Object) (shared int, diffs []string) {
	newOps := map[string]specjson.Operation{}
	for _, op := range specjson.Operations(newer) {
		newOps[opKey(op)] = op
	}
	refs := map[string]bool{}
	for _, oo := range specjson.Operations(older) {
		no, ok := newOps[opKey(oo)]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s: missing from the newer document", opKey(oo)))
			continue
		}
		shared++
		key := opKey(oo)
		if a, b := specjson.Str(oo.Op, "operationId"), specjson.Str(no.Op, "operationId"); a != b {
			diffs = append(diffs, fmt.Sprintf("%s: operationId %s -> %s", key, a, b))
		}
		params := func(op specjson.Object, d specjson.Object) map[string]string {
			m := map[string]string{}
			for _, p := range specjson.Arr(op, "parameters") {
				po := p.(specjson.Object)
				id := specjson.Str(po, "in") + ":" + specjson.Str(po, "name")
				if specjson.Str(po, "in") == "body" {
					id = "body"
					m[id] = typeOf(d, specjson.Obj(po, "schema"))
					collectRefs(specjson.Obj(po, "schema"), refs)
					continue
				}
				m[id] = typeOf(d, po)
			}
			return m
		}
		op, np := params(oo.Op, older), params(no.Op, newer)
		diffs = append(diffs, diffMaps(key+" parameter", op, np)...)
		for code, r := range specjson.Obj(oo.Op, "responses") {
			collectRefs(specjson.Obj(r.(specjson.Object), "schema"), refs)
			nr := specjson.Obj(specjson.Obj(no.Op, "responses"), code)
			if nr == nil {
				diffs = append(diffs, fmt.Sprintf("%s: response %s missing from the newer document", key, code))
				continue
			}
			a, b := typeOf(older, specjson.Obj(r.(specjson.Object), "schema")), typeOf(newer, specjson.Obj(nr, "schema"))
			if a != b {
				diffs = append(diffs, fmt.Sprintf("%s: response %s body %s -> %s", key, code, a, b))
			}
		}
	}
	// Schemas reachable from the shared operations.
	oldDefs, newDefs := specjson.Obj(older, "definitions"), specjson.Obj(newer, "definitions")
	for changed := true; changed; {
		changed = false
		for name := range refs {
			before := len(refs)
			collectRefs(specjson.Obj(oldDefs, name), refs)
			changed = changed || len(refs) != before
		}
	}
	for _, name := range specjson.SortedKeys(refs) {
		od, nd := specjson.Obj(oldDefs, name), specjson.Obj(newDefs, name)
		if nd == nil {
			diffs = append(diffs, "definition "+name+": missing from the newer document")
			continue
		}
		props := func(d, doc specjson.Object) map[string]string {
			m := map[string]string{}
			for p, s := range specjson.Obj(d, "properties") {
				m[p] = typeOf(doc, s.(specjson.Object))
			}
			if len(m) == 0 {
				m["(self)"] = typeOf(doc, d)
			}
			return m
		}
		diffs = append(diffs, diffMaps("definition "+name+" property", props(od, older), props(nd, newer))...)
	}
	sort.Strings(diffs)
	return shared, diffs
}

func collectRefs(node any, refs map[string]bool) {
	switch n := node.(type) {
	case specjson.Object:
		if ref := specjson.Str(n, "$ref"); strings.HasPrefix(ref, "#/definitions/") {
			refs[strings.TrimPrefix(ref, "#/definitions/")] = true
		}
		for _, v := range n {
			collectRefs(v, refs)
		}
	case []any:
		for _, v := range n {
			collectRefs(v, refs)
		}
	}
}

func diffMaps(what string, older, newer map[string]string) []string {
	var out []string
	for k, a := range older {
		b, ok := newer[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %s: dropped (was %s)", what, k, a))
		case a != b:
			out = append(out, fmt.Sprintf("%s %s: %s -> %s", what, k, a, b))
		}
	}
	for k, b := range newer {
		if _, ok := older[k]; !ok {
			out = append(out, fmt.Sprintf("%s %s: added (%s)", what, k, b))
		}
	}
	slices.Sort(out)
	return out
}

var update = flag.Bool("update", false, "rewrite testdata/crosscheck-2026-03.txt from the current upstream copies")

// TestCrossCheckWithSwagger2: every operation of the 2026-03 Swagger 2.0
// copy is in the pinned newest surface, and every difference in paths,
// methods, parameters, response bodies and schema properties is the one
// recorded (and reviewed) in testdata/crosscheck-2026-03.txt. The pin keeps
// the newer side of each. Run with -update after reviewing a new upstream.
func TestCrossCheckWithSwagger2(t *testing.T) {
	shared, diffs := crossCheck(pinFile(t, swagger2026), pinFile(t, newestSource))
	if shared != 73 {
		t.Errorf("shared operations: got %d, want all 73 of the 2026-03 copy", shared)
	}
	for _, d := range diffs {
		if strings.Contains(d, "missing from the newer document") && !strings.HasPrefix(d, "definition ") && !strings.Contains(d, "response") {
			t.Errorf("an operation of the older copy is gone: %s", d)
		}
	}
	got := strings.Join(diffs, "\n") + "\n"
	const golden = "testdata/crosscheck-2026-03.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("differences changed; review them and rerun with -update.\ngot:\n%s", got)
	}
}
