package fixup

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-openapi/loads"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/validate"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// fixed returns swagger.json with every fix-up and the docs applied: the
// document go-swagger generates from.
func fixed(t *testing.T) object {
	t.Helper()
	doc, err := specjson.ReadFile("../../../swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	facts, err := LoadFacts("../../facts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := LoadDocs("../../docs")
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(doc, facts, docs, false); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestFixedSpecValidates: the document the generator reads passes the same
// validation as `swagger validate` (the generator itself skips it for speed).
func TestFixedSpecValidates(t *testing.T) {
	data, err := specjson.Encode(fixed(t))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := loads.Analyzed(json.RawMessage(data), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Spec(spec, strfmt.Default); err != nil {
		t.Fatalf("fixed spec does not validate: %v", err)
	}
}

func TestEveryOperationDeclaresAuthAndErrors(t *testing.T) {
	doc := fixed(t)
	sec, _ := json.Marshal(doc["security"])
	if string(sec) != `[{"FlyBearerAuth":[]}]` {
		t.Errorf("global security = %s", sec)
	}
	for _, op := range specjson.Operations(doc) {
		id := specjson.Str(op.Op, "operationId")
		if _, own := op.Op["security"]; own {
			var s []any = specjson.Arr(op.Op, "security")
			if len(s) == 0 {
				t.Errorf("%s opts out of auth", id)
			}
		}
		def := specjson.Obj(specjson.Obj(op.Op, "responses"), "default")
		if specjson.Str(specjson.Obj(def, "schema"), "$ref") != "#/definitions/ErrorResponse" {
			t.Errorf("%s: no default ErrorResponse", id)
		}
		if strings.TrimSpace(specjson.Str(op.Op, "summary")) == "" {
			t.Errorf("%s: no summary", id)
		}
	}
}

func TestDefectCorrections(t *testing.T) {
	doc := fixed(t)
	op := func(id string) object {
		o, err := operation(doc, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	resp := func(id, code string) object { return specjson.Obj(specjson.Obj(op(id), "responses"), code) }
	ref := func(o object) string { return specjson.Str(specjson.Obj(o, "schema"), "$ref") }

	if ref(resp("Machines_create_lease", "201")) != "#/definitions/LeaseResponse" || ref(resp("Machines_show_lease", "200")) != "#/definitions/LeaseResponse" {
		t.Error("lease responses are not the wrapped LeaseResponse")
	}
	for _, id := range []string{"Machines_update", "Machines_delete", "Machines_start", "Machines_stop", "Machines_upsert_metadata"} {
		if findParam(op(id), "header", "fly-machine-lease-nonce") == nil {
			t.Errorf("%s does not accept the lease nonce", id)
		}
	}
	state := findParam(op("Machines_wait"), "query", "state")
	if specjson.Str(state, "type") != "array" || specjson.Str(state, "collectionFormat") != "multi" {
		t.Errorf("wait state is not a repeatable parameter: %v", state)
	}
	if ref(resp("Machines_wait", "408")) != "#/definitions/ErrorResponse" {
		t.Error("wait declares no 408")
	}
	if ref(resp("Machines_start", "200")) != "#/definitions/StartMachineResponse" {
		t.Error("start declares no body")
	}
	autostop := specjson.Obj(specjson.Obj(definition(doc, "fly.MachineService"), "properties"), "autostop")
	if specjson.Str(specjson.Obj(autostop, "x-go-type"), "type") != "Autostop" {
		t.Errorf("autostop is not flytypes.Autostop: %v", autostop)
	}
	for name, fields := range byteFields {
		for _, f := range fields {
			p := specjson.Obj(specjson.Obj(definition(doc, name), "properties"), f)
			if specjson.Str(p, "format") != "byte" {
				t.Errorf("%s.%s is not base64 bytes: %v", name, f, p)
			}
		}
	}
	clash := specjson.Obj(specjson.Obj(definition(doc, "SetAppSecretResponse"), "properties"), "Version")
	if specjson.Str(clash, "x-go-name") != "DeprecatedVersion" {
		t.Error("Version/version clash not renamed")
	}
	config := specjson.Obj(specjson.Obj(definition(doc, "CreateMachineRequest"), "properties"), "config")
	if specjson.Str(config, "$ref") != "#/definitions/fly.MachineConfig" || config["allOf"] != nil {
		t.Errorf("CreateMachineRequest.config is not a plain reference: %v", config)
	}
	for _, o := range specjson.Operations(doc) {
		for _, p := range specjson.Arr(o.Op, "parameters") {
			if name := specjson.Str(p.(object), "name"); strings.Contains(name, "{") {
				t.Errorf("%s still declares templated query parameter %s", specjson.Str(o.Op, "operationId"), name)
			}
		}
	}
	for name, fields := range absentIsNotFalse {
		for _, f := range fields {
			if p := specjson.Obj(specjson.Obj(definition(doc, name), "properties"), f); p["x-nullable"] != true {
				t.Errorf("%s.%s cannot be sent as false", name, f)
			}
		}
	}
	if ref(resp("Tokens_request_OIDC", "400")) != "#/definitions/ErrorResponse" {
		t.Error("OIDC's declared 400 has no error body")
	}
	if findParam(op("Apps_delete"), "query", "force") == nil {
		t.Error("app delete has no force parameter")
	}
}

func TestDurationFixupAppliesToOlderCopies(t *testing.T) {
	doc := object{"definitions": object{"fly.Duration": object{"type": "object", "properties": object{}}}}
	if err := durationAsString(doc); err != nil {
		t.Fatal(err)
	}
	if specjson.Str(definition(doc, "fly.Duration"), "type") != "string" {
		t.Error("fly.Duration not turned into a string")
	}
}

func TestFixupsFailWhenTheirTargetVanishes(t *testing.T) {
	doc := object{"paths": object{}, "definitions": object{"ErrorResponse": object{}}}
	if err := waitTimeoutAndStates(doc); err == nil {
		t.Error("wait fix-up silently did nothing on a spec without Machines_wait")
	}
	if err := versionCaseClash(doc); err == nil {
		t.Error("clash fix-up silently did nothing on a spec without the clash")
	}
}

func TestDocsMustMatchTheSpec(t *testing.T) {
	doc := object{
		"paths":       object{"/x": object{"get": object{"operationId": "X_get", "tags": []any{"X"}, "responses": object{}}}},
		"definitions": object{"Thing": object{"type": "object"}},
	}
	d := &Docs{
		Operations: map[string]OperationDoc{"Gone_op": {Summary: "Old."}},
		Models:     map[string]string{"Thing": "A thing."},
		Tags:       map[string]string{"X": "X things."},
	}
	err := d.Merge(doc)
	if err == nil || !strings.Contains(err.Error(), "X_get has no summary") || !strings.Contains(err.Error(), "unknown operation Gone_op") {
		t.Errorf("Merge = %v, want missing and unknown operations named", err)
	}
}

// TestEveryFailingFixupIsReported: a spec update that breaks several
// fix-ups shows all of them in one run, not the first.
func TestEveryFailingFixupIsReported(t *testing.T) {
	doc := object{"paths": object{}, "definitions": object{}}
	err := Apply(doc, false)
	if err == nil {
		t.Fatal("fix-ups succeeded on an empty spec")
	}
	for _, name := range []string{"wait-timeout-and-states", "version-case-clash", "templated-query-names"} {
		if !strings.Contains(err.Error(), "fix-up "+name+":") {
			t.Errorf("failing fix-up %s not reported in:\n%v", name, err)
		}
	}
}

// TestFactsMustMatchTheSpec: every operation has its facts, none is stated
// for an operation the spec lacks, and Go names are unique and well formed.
func TestFactsMustMatchTheSpec(t *testing.T) {
	yes := true
	doc := object{"paths": object{"/x": object{
		"get":    object{"operationId": "X_get"},
		"post":   object{"operationId": "X_post"},
		"put":    object{"operationId": "X_put"},
		"delete": object{"operationId": "X_delete"},
	}}}
	f := Facts{
		"X_get":    {Go: "Xs.Show", Repeatable: &yes},
		"X_post":   {Go: "Xs.Show", Repeatable: &yes},
		"X_put":    {Go: "xs.put", Repeatable: &yes},
		"X_delete": {Go: "Xs.Delete"},
		"Gone":     {Go: "Xs.Gone", Repeatable: &yes},
	}
	err := f.Merge(doc)
	if err == nil {
		t.Fatal("mismatched facts accepted")
	}
	for _, want := range []string{"X_get and X_post are both Xs.Show", `X_put: go "xs.put"`, "X_delete: repeat is not stated", "unknown operation Gone"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	delete(f, "X_get")
	if err := f.Merge(doc); err == nil || !strings.Contains(err.Error(), "X_get has no facts") {
		t.Errorf("a missing operation is not named: %v", err)
	}
}

// TestFlyToolsParameters: what fly-go's flaps sends is declared, so this
// client can send it too.
func TestFlyToolsParameters(t *testing.T) {
	doc := fixed(t)
	op := func(id string) object {
		o, err := operation(doc, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	for _, p := range []struct{ id, name, typ string }{
		{"Machines_delete", "kill", "boolean"},
		{"Machines_create_lease", "ttl", "integer"},
		{"Machines_restart", "force_stop", "boolean"},
		{"Secrets_list", "version", "string"},
		{"Secret_get", "version", "string"},
	} {
		if got := specjson.Str(findParam(op(p.id), "query", p.name), "type"); got != p.typ {
			t.Errorf("%s: query %s is %q, want %s", p.id, p.name, got, p.typ)
		}
	}
	signal := specjson.Obj(specjson.Obj(definition(doc, "SignalRequest"), "properties"), "signal")
	if specjson.Str(specjson.Obj(signal, "x-go-type"), "type") != "Signal" || signal["enum"] != nil {
		t.Errorf("SignalRequest.signal is not flytypes.Signal: %v", signal)
	}
	if specjson.Obj(specjson.Obj(definition(doc, "CreateAppRequest"), "properties"), "app_role_id") == nil {
		t.Error("CreateAppRequest has no app_role_id")
	}
	resp := specjson.Obj(definition(doc, "CreateAppResponse"), "properties")
	for name := range specjson.Obj(definition(doc, "App"), "properties") {
		if resp[name] == nil {
			t.Errorf("the create answer lacks the App's %s", name)
		}
	}
	if resp["created_at"] == nil {
		t.Error("the create answer lost created_at")
	}
}
