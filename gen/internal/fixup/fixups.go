// Package fixup corrects known defects of the upstream Machines API
// description and merges the project-written docs, producing the document
// go-swagger generates from. swagger.json itself stays exactly as pinned.
package fixup

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

type object = specjson.Object

// A fixup corrects one known defect of the upstream description. Fix-ups run
// in order; one whose target has vanished upstream fails loudly, so a stale
// correction is noticed when the pin is updated.
type fixup struct {
	name  string
	apply func(doc object) error
}

// fixups is the ordered list of corrections. Each function's comment names
// the defect and the evidence for the correction.
var fixups = []fixup{
	{"json-media-types", jsonMediaTypes},
	{"security-on-every-operation", securityOnEveryOperation},
	{"duration-as-string", durationAsString},
	{"default-error-response", defaultErrorResponse},
	{"wrapped-lease-response", wrappedLeaseResponse},
	{"lease-nonce-on-mutations", leaseNonceOnMutations},
	{"wait-timeout-and-states", waitTimeoutAndStates},
	{"autostop-bool-or-string", autostopBoolOrString},
	{"bytes-as-base64", bytesAsBase64},
	{"start-response-body", startResponseBody},
	{"token-response-bodies", tokenResponseBodies},
	{"version-case-clash", versionCaseClash},
	{"app-delete-force", appDeleteForce},
	{"single-allof-as-ref", singleAllOfAsRef},
	{"templated-query-names", templatedQueryNames},
	{"sendable-false", sendableFalse},
	{"secret-removal-nulls", secretRemovalNulls},
	// Model fix-ups (model_fixups.go).
	{"known-fields-the-spec-lacks", knownFieldsTheSpecLacks},
	{"persist-rootfs-int-or-none", persistRootfsIntOrNone},
	{"error-status-error", errorStatusError},
	{"machine-event-request", machineEventRequest},

	// What Fly's own tools send or read (flytools.go). createAnswersApp
	// stays last: it copies App as the fix-ups before it left it.
	{"destroy-kill", destroyKill},
	{"lease-ttl-query", leaseTTLQuery},
	{"restart-force-stop", restartForceStop},
	{"secrets-version", secretsVersion},
	{"numeric-signal", numericSignal},
	{"create-answers-app", createAnswersApp},
}

// Apply runs every fix-up on doc, in order. A fix-up that fails does not
// stop the others: every failure is reported at once, so a spec update
// shows all that needs a hand in one run.
func Apply(doc object, verbose bool) error {
	var errs []error
	for _, f := range fixups {
		if err := f.apply(doc); err != nil {
			errs = append(errs, fmt.Errorf("fix-up %s: %w", f.name, err))
			continue
		}
		if verbose {
			fmt.Println("applied", f.name)
		}
	}
	return errors.Join(errs...)
}

// jsonMediaTypes: the converted document declares no "produces" at all and
// "consumes" only on some operations. Every Machines API body is JSON, so
// JSON is declared once for the whole API.
func jsonMediaTypes(doc object) error {
	doc["consumes"] = []any{"application/json"}
	doc["produces"] = []any{"application/json"}
	return nil
}

// securityOnEveryOperation: FlyBearerAuth is defined, but only the Postgres
// operations require it, so generated calls elsewhere would send no
// Authorization header. Every Machines API call needs a token (the API
// answers 401 without one), so the requirement is declared globally.
func securityOnEveryOperation(doc object) error {
	defs := specjson.Obj(doc, "securityDefinitions")
	if defs == nil {
		defs = object{}
		doc["securityDefinitions"] = defs
	}
	if defs["FlyBearerAuth"] == nil {
		// Some upstream versions (the 2026-08 one) declare no scheme at all.
		defs["FlyBearerAuth"] = object{"type": "apiKey", "in": "header", "name": "Authorization"}
	}
	doc["security"] = []any{object{"FlyBearerAuth": []any{}}}
	return nil
}

// durationAsString: the Swagger 2.0 copies declare fly.Duration as an object
// holding an integer enum with duplicate values (it fails validation), while
// on the wire a duration is a Go duration string such as "10s". The newer
// OpenAPI 3 source already writes durations as strings; this applies only
// when the definition is present.
func durationAsString(doc object) error {
	defs := specjson.Obj(doc, "definitions")
	if _, ok := defs["fly.Duration"]; ok {
		defs["fly.Duration"] = object{"type": "string"}
	}
	return nil
}

// defaultErrorResponse: most operations declare no 4xx/5xx response, so a
// generated client would drop the {"error","status"} body the API sends with
// every failure. A default response carrying ErrorResponse turns every
// undeclared status into a typed error that keeps its body.
//
// Declared error statuses without a body (Tokens_request_OIDC's 400) lose
// it the same way; they get ErrorResponse too.
func defaultErrorResponse(doc object) error {
	if specjson.Obj(specjson.Obj(doc, "definitions"), "ErrorResponse") == nil {
		return fmt.Errorf("definition ErrorResponse is missing")
	}
	for _, op := range specjson.Operations(doc) {
		responses := specjson.Obj(op.Op, "responses")
		if _, ok := responses["default"]; !ok {
			responses["default"] = errorResponse()
		}
		for code, r := range responses {
			resp, _ := r.(object)
			if len(code) == 3 && code[0] >= '4' && resp["schema"] == nil && resp["$ref"] == nil {
				resp["schema"] = object{"$ref": "#/definitions/ErrorResponse"}
			}
		}
	}
	return nil
}

func errorResponse() object {
	return object{"description": "", "schema": object{"$ref": "#/definitions/ErrorResponse"}}
}

// wrappedLeaseResponse: lease create and show answer
// {"status":"success","data":{nonce,expires_at,owner,version}} on the wire
// (Fly's own API guide shows the envelope), while the spec declares the bare
// Lease. A LeaseResponse envelope is declared and used for both.
func wrappedLeaseResponse(doc object) error {
	specjson.Obj(doc, "definitions")["LeaseResponse"] = object{
		"type": "object",
		"properties": object{
			"status": object{"type": "string"},
			"data":   object{"$ref": "#/definitions/Lease"},
		},
	}
	for id, status := range map[string]string{"Machines_create_lease": "201", "Machines_show_lease": "200"} {
		op, err := operation(doc, id)
		if err != nil {
			return err
		}
		resp := specjson.Obj(specjson.Obj(op, "responses"), status)
		if resp == nil {
			return fmt.Errorf("%s declares no %s response", id, status)
		}
		resp["schema"] = object{"$ref": "#/definitions/LeaseResponse"}
	}
	return nil
}

// leaseNonceOnMutations: fly-machine-lease-nonce is declared on the lease
// calls only, yet the API guide has callers send it on every mutation of a
// leased machine. Without the parameter a generated client cannot send it.
//
// The operations are those gen/facts.yaml marks "lease: true" (merged
// before the fix-ups run). The parameter is named LeaseNonce in Go.
func leaseNonceOnMutations(doc object) error {
	n := 0
	for _, op := range specjson.Operations(doc) {
		if !leaseNonced(op.Op) {
			continue
		}
		n++
		if findParam(op.Op, "header", "fly-machine-lease-nonce") == nil {
			op.Op["parameters"] = append(specjson.Arr(op.Op, "parameters"),
				object{"in": "header", "name": "fly-machine-lease-nonce", "type": "string"})
		}
	}
	for _, op := range specjson.Operations(doc) {
		if p := findParam(op.Op, "header", "fly-machine-lease-nonce"); p != nil {
			p["x-go-name"] = "LeaseNonce"
		}
	}
	if n == 0 {
		return fmt.Errorf("no operation is marked lease: true in the facts")
	}
	return nil
}

// waitStates are the states wait accepts on the wire.
var waitStates = []any{"started", "stopped", "suspended", "destroyed", "failed", "settled"}

// waitTimeoutAndStates: wait answers 408 when its timeout passes before the
// machine reaches the state, which the spec does not declare; and "state"
// may be given several times (or comma-separated) to wait for any of them,
// while the spec allows one value.
func waitTimeoutAndStates(doc object) error {
	op, err := operation(doc, "Machines_wait")
	if err != nil {
		return err
	}
	state := findParam(op, "query", "state")
	if state == nil {
		return fmt.Errorf("Machines_wait has no state parameter")
	}
	delete(state, "enum")
	state["type"] = "array"
	state["collectionFormat"] = "multi"
	state["items"] = object{"type": "string", "enum": waitStates}
	specjson.Obj(op, "responses")["408"] = errorResponse()
	return nil
}

// autostopBoolOrString: service autostop is declared as the string enum
// "off"/"stop"/"suspend", but the API also sends the older booleans (and
// fly-go writes them, machine_types.go MachineAutostop). The field is
// typed flytypes.Autostop, which reads both and writes back the form it read.
func autostopBoolOrString(doc object) error {
	autostop := specjson.Obj(specjson.Obj(definition(doc, "fly.MachineService"), "properties"), "autostop")
	if autostop == nil {
		return fmt.Errorf("fly.MachineService.autostop is missing")
	}
	delete(autostop, "enum")
	autostop["x-go-type"] = flytype("Autostop")
	return nil
}

// byteFields are the Go []byte fields of the secret-key and token models.
// Go encodes []byte as a base64 string; the spec declares integer arrays.
var byteFields = map[string][]string{
	"DecryptSecretkeyRequest":  {"associated_data", "ciphertext"},
	"DecryptSecretkeyResponse": {"plaintext"},
	"EncryptSecretkeyRequest":  {"associated_data", "plaintext"},
	"EncryptSecretkeyResponse": {"ciphertext"},
	"SecretKey":                {"public_key"},
	"SetSecretkeyRequest":      {"value"},
	"SetSecretkeyResponse":     {"public_key"},
	"SignSecretkeyRequest":     {"plaintext"},
	"SignSecretkeyResponse":    {"signature"},
	"VerifySecretkeyRequest":   {"plaintext", "signature"},
	"macaroon.Nonce":           {"kid", "rnd"},
	"root.VerifiedToken":       {"permission_token"},
}

// bytesAsBase64: see byteFields. Each field becomes a base64 string
// (format "byte", strfmt.Base64 in Go).
func bytesAsBase64(doc object) error {
	for _, name := range specjson.SortedKeys(byteFields) {
		props := specjson.Obj(definition(doc, name), "properties")
		for _, field := range byteFields[name] {
			prop := specjson.Obj(props, field)
			if prop == nil {
				return fmt.Errorf("%s.%s is missing", name, field)
			}
			if specjson.Str(prop, "type") != "array" {
				return fmt.Errorf("%s.%s is no longer an integer array", name, field)
			}
			props[field] = object{"type": "string", "format": "byte"}
		}
	}
	return nil
}

// startResponseBody: start answers {"previous_state","migrated","new_host"}
// (the API guide shows previous_state), but the spec declares no body, so a
// caller could not tell a start from a no-op.
func startResponseBody(doc object) error {
	specjson.Obj(doc, "definitions")["StartMachineResponse"] = object{
		"type": "object",
		"properties": object{
			"previous_state": object{"type": "string"},
			"migrated":       object{"type": "boolean"},
			"new_host":       object{"type": "string"},
		},
	}
	op, err := operation(doc, "Machines_start")
	if err != nil {
		return err
	}
	ok := specjson.Obj(specjson.Obj(op, "responses"), "200")
	if ok == nil {
		return fmt.Errorf("Machines_start declares no 200 response")
	}
	ok["schema"] = object{"$ref": "#/definitions/StartMachineResponse"}
	return nil
}

// tokenResponseBodies: the KMS and OIDC token requests declare a 200 with no
// body, so a generated client would discard the token they exist to return.
// The token is declared as a string body.
func tokenResponseBodies(doc object) error {
	for _, id := range []string{"Tokens_request_Kms", "Tokens_request_OIDC"} {
		op, err := operation(doc, id)
		if err != nil {
			return err
		}
		ok := specjson.Obj(specjson.Obj(op, "responses"), "200")
		if ok == nil {
			return fmt.Errorf("%s declares no 200 response", id)
		}
		ok["schema"] = object{"type": "string"}
		op["produces"] = []any{"application/json", "text/plain"}
	}
	return nil
}

// versionCaseClash: several secret responses declare both "Version" and
// "version" (the capitalised one is deprecated upstream). go-swagger names
// both fields Version and the models do not compile. The deprecated one
// keeps its wire name under the Go name DeprecatedVersion.
func versionCaseClash(doc object) error {
	defs := specjson.Obj(doc, "definitions")
	renamed := 0
	for _, name := range specjson.SortedKeys(defs) {
		props := specjson.Obj(specjson.Obj(defs, name), "properties")
		if props["Version"] != nil && props["version"] != nil {
			specjson.Obj(props, "Version")["x-go-name"] = "DeprecatedVersion"
			renamed++
		}
	}
	if renamed == 0 {
		return fmt.Errorf("no Version/version clash left: drop this fix-up")
	}
	return nil
}

// appDeleteForce: Fly's API guide deletes an app that still has Machines
// with "?force=true", a parameter the spec does not declare.
func appDeleteForce(doc object) error {
	op, err := operation(doc, "Apps_delete")
	if err != nil {
		return err
	}
	if findParam(op, "query", "force") == nil {
		op["parameters"] = append(specjson.Arr(op, "parameters"),
			object{"in": "query", "name": "force", "type": "boolean"})
	}
	return nil
}

// singleAllOfAsRef: the converter wraps many property references as
// {"type":"object","allOf":[{"$ref":X}]} (OpenAPI 3 forbids siblings of a
// $ref, so the description was moved beside it; an example may sit there
// too). go-swagger turns each into an anonymous struct embedding X, which
// callers cannot name, whose validation is skipped, and which for a
// non-object X goes on the wire as {"X": value}. CreateMachineRequest.Config
// is the worst hit. A plain reference gives a *X field that validates.
func singleAllOfAsRef(doc object) error {
	changed := 0
	var walk func(node any)
	walk = func(node any) {
		switch n := node.(type) {
		case object:
			if all := specjson.Arr(n, "allOf"); len(all) == 1 {
				only, _ := all[0].(object)
				if ref := specjson.Str(only, "$ref"); ref != "" && len(only) == 1 && onlyKeys(n, "allOf", "type", "example") {
					for k := range n {
						delete(n, k)
					}
					n["$ref"] = ref
					changed++
					return
				}
			}
			for _, v := range n {
				walk(v)
			}
		case []any:
			for _, v := range n {
				walk(v)
			}
		}
	}
	walk(specjson.Obj(doc, "definitions"))
	if changed == 0 {
		return fmt.Errorf("no single-reference allOf left: drop this fix-up")
	}
	return nil
}

// onlyKeys reports whether o has no keys but the given ones.
func onlyKeys(o object, keys ...string) bool {
	for k := range o {
		if !slices.Contains(keys, k) {
			return false
		}
	}
	return true
}

// templatedQueryNames: the machine list filter is declared as one query
// parameter literally named "metadata.{key}", which Swagger 2.0 cannot
// template: the generated client would send "metadata.{key}=value". Such
// parameters are dropped, and the operation is marked x-fly-query-map with
// the name's prefix: the generated method then takes a map of them and sends
// the real "metadata.<key>=<value>" pairs.
func templatedQueryNames(doc object) error {
	dropped := 0
	for _, op := range specjson.Operations(doc) {
		params := specjson.Arr(op.Op, "parameters")
		if params == nil {
			continue
		}
		kept := params[:0:0]
		for _, p := range params {
			po, _ := p.(object)
			name := specjson.Str(po, "name")
			if prefix, _, ok := strings.Cut(name, ".{"); ok && specjson.Str(po, "in") == "query" && strings.HasSuffix(name, "}") {
				op.Op["x-fly-query-map"] = prefix
				dropped++
				continue
			}
			if specjson.Str(po, "in") == "query" && strings.Contains(name, "{") {
				return fmt.Errorf("%s: query parameter %q is templated in a form the generator cannot send", specjson.Str(op.Op, "operationId"), name)
			}
			kept = append(kept, p)
		}
		op.Op["parameters"] = kept
	}
	if dropped == 0 {
		return fmt.Errorf("no templated query parameter left: drop this fix-up")
	}
	return nil
}

// absentIsNotFalse lists request booleans the API reads differently when
// absent than when false: volumes are encrypted and backed up unless told
// otherwise, an update without skip_launch leaves a stopped Machine as it
// is, services autostart unless told not to.
var absentIsNotFalse = map[string][]string{
	"CreateVolumeRequest":  {"auto_backup_enabled", "encrypted", "require_unique_zone", "unique_zone_app_wide"},
	"UpdateVolumeRequest":  {"auto_backup_enabled"},
	"UpdateMachineRequest": {"skip_launch"},
	"fly.MachineService":   {"autostart"},
	"fly.MachineConfig":    {"disable_machine_autostart"},
	"fly.HTTPOptions":      {"compress"},
}

// sendableFalse: go-swagger drops a false boolean (omitempty), so a client
// could never ask for an unencrypted volume. The booleans of
// absentIsNotFalse become *bool, which sends false and omits nil.
func sendableFalse(doc object) error {
	for _, name := range specjson.SortedKeys(absentIsNotFalse) {
		props := specjson.Obj(definition(doc, name), "properties")
		for _, field := range absentIsNotFalse[name] {
			prop := specjson.Obj(props, field)
			if specjson.Str(prop, "type") != "boolean" {
				return fmt.Errorf("%s.%s is not a boolean any more", name, field)
			}
			prop["x-nullable"] = true
		}
	}
	return nil
}

// secretRemovalNulls: Secrets_update removes a secret whose value is null,
// but values is declared as a map of strings, so the generated client cannot
// send null. Its values become nullable (map[string]*string).
func secretRemovalNulls(doc object) error {
	values := specjson.Obj(specjson.Obj(definition(doc, "AppSecretsUpdateRequest"), "properties"), "values")
	item := specjson.Obj(values, "additionalProperties")
	if specjson.Str(item, "type") != "string" {
		return fmt.Errorf("AppSecretsUpdateRequest.values is not a map of strings any more")
	}
	item["x-nullable"] = true
	return nil
}

// operation finds an operation by operationId.
func operation(doc object, id string) (object, error) {
	for _, op := range specjson.Operations(doc) {
		if specjson.Str(op.Op, "operationId") == id {
			return op.Op, nil
		}
	}
	return nil, fmt.Errorf("operation %s not found", id)
}

func definition(doc object, name string) object {
	return specjson.Obj(specjson.Obj(doc, "definitions"), name)
}

func findParam(op object, in, name string) object {
	i := slices.IndexFunc(specjson.Arr(op, "parameters"), func(p any) bool {
		po, _ := p.(object)
		return specjson.Str(po, "in") == in && specjson.Str(po, "name") == name
	})
	if i < 0 {
		return nil
	}
	return specjson.Arr(op, "parameters")[i].(object)
}
