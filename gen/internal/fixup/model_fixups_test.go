package fixup

import (
	"slices"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

func TestModelFixups(t *testing.T) {
	doc := fixed(t)
	for _, p := range knownProperties {
		prop := specjson.Obj(specjson.Obj(definition(doc, p.definition), "properties"), p.name)
		if prop == nil {
			t.Errorf("%s.%s is not declared", p.definition, p.name)
		}
		if p.evidence == "" {
			t.Errorf("%s.%s has no evidence", p.definition, p.name)
		}
	}
	for name := range knownDefinitions {
		if definition(doc, name) == nil {
			t.Errorf("definition %s is missing", name)
		}
	}
	for name, field := range persistRootfsFields {
		prop := specjson.Obj(specjson.Obj(definition(doc, name), "properties"), field)
		if specjson.Str(specjson.Obj(prop, "x-go-type"), "type") != "PersistRootfs" || prop["enum"] != nil {
			t.Errorf("%s.%s is not flytypes.PersistRootfs: %v", name, field, prop)
		}
	}
	if !slices.Contains(specjson.Arr(definition(doc, "main.statusCode"), "enum"), any("error")) {
		t.Error(`main.statusCode lacks "error"`)
	}
}

// A correction the spec has caught up with stops generation, naming what
// to drop.
func TestModelFixupsFailWhenTheSpecCatchesUp(t *testing.T) {
	doc := fixed(t) // every known property is declared by now
	err := knownFieldsTheSpecLacks(doc)
	if err == nil || !strings.Contains(err.Error(), "drop it") {
		t.Errorf("re-adding known fields: %v", err)
	}
	if err := errorStatusError(doc); err == nil {
		t.Error(`re-adding "error" to main.statusCode went unnoticed`)
	}
	if err := persistRootfsIntOrNone(object{"definitions": object{}}); err == nil {
		t.Error("persist_rootfs fix-up silently did nothing on a spec without it")
	}
}
