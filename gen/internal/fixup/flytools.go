package fixup

import (
	"fmt"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// The fix-ups of this file declare what Fly's own tools send or read that
// no copy of the spec declares. The evidence for each is the code of
// fly-go's flaps package (github.com/superfly/fly-go v0.8.0), which flyctl
// uses against the real API every day, and which the conformance suite
// (conformance/) runs against the emulator.

// destroyKill: flaps Destroy (flaps_machines.go) sends
// DELETE /apps/{app}/machines/{id}?kill=true|false, and flyctl's machine
// destroy --force sets kill to destroy a running Machine. The spec declares
// only force.
func destroyKill(doc object) error {
	return addQueryParam(doc, "Machines_delete", object{"in": "query", "name": "kill", "type": "boolean"})
}

// leaseTTLQuery: flaps AcquireLease and RefreshLease (flaps_machines.go)
// send the lease's length as ?ttl=N in the query string, with no body. The
// spec declares ttl in the body only.
func leaseTTLQuery(doc object) error {
	return addQueryParam(doc, "Machines_create_lease", object{"in": "query", "name": "ttl", "type": "integer"})
}

// restartForceStop: flaps Restart (flaps_machines.go) always sends
// ?force_stop=true|false, from fly-go's RestartMachineInput.ForceStop. The
// spec declares signal and timeout only.
func restartForceStop(doc object) error {
	return addQueryParam(doc, "Machines_restart", object{"in": "query", "name": "force_stop", "type": "boolean"})
}

// secretsVersion: flaps ListAppSecrets and GetAppSecrets (flaps_secrets.go)
// send the secrets version a write answered as ?version=N, to read their
// own writes. The spec declares min_version only; version is declared the
// same way.
func secretsVersion(doc object) error {
	for _, id := range []string{"Secrets_list", "Secret_get"} {
		if err := addQueryParam(doc, id, object{"in": "query", "name": "version", "type": "string"}); err != nil {
			return err
		}
	}
	return nil
}

// numericSignal: flaps Kill (flaps_machines.go) sends {"signal": 9}, a
// number, where the spec declares an enum of names. The field becomes
// flytypes.Signal, which reads and writes both forms.
func numericSignal(doc object) error {
	signal := specjson.Obj(specjson.Obj(definition(doc, "SignalRequest"), "properties"), "signal")
	if signal == nil {
		return fmt.Errorf("SignalRequest.signal is missing")
	}
	delete(signal, "enum")
	signal["x-go-type"] = object{
		"import": object{"package": "github.com/flymachines/flymachines-go/flytypes"},
		"type":   "Signal",
		"hints":  object{"kind": "primitive", "noValidation": true},
	}
	return nil
}

// createAnswersApp: Apps_create is declared to answer {id, created_at}
// only, yet flaps CreateApp (flaps_apps.go, called with ?wait=true) decodes
// the answer into its App and flyctl reads it: apps create prints
// app.Name, and the remote builder allocates its IP by app.Name. The answer
// is the App; created_at is kept. The App's properties are copied when
// this runs, so it runs after any fix-up that adds to App.
func createAnswersApp(doc object) error {
	app := specjson.Obj(definition(doc, "App"), "properties")
	resp := specjson.Obj(definition(doc, "CreateAppResponse"), "properties")
	if app == nil || resp == nil {
		return fmt.Errorf("App or CreateAppResponse has no properties")
	}
	for name, prop := range app {
		if _, ok := resp[name]; !ok {
			resp[name] = cloneJSON(prop)
		}
	}
	// Some upstream versions (the 2026-08 one) declare the 201 with no
	// body at all.
	op, err := operation(doc, "Apps_create")
	if err != nil {
		return err
	}
	created := specjson.Obj(specjson.Obj(op, "responses"), "201")
	if created == nil {
		return fmt.Errorf("Apps_create declares no 201")
	}
	if created["schema"] == nil {
		created["schema"] = object{"$ref": "#/definitions/CreateAppResponse"}
	}
	return nil
}

// addQueryParam declares a query parameter of an operation unless it is
// declared already.
func addQueryParam(doc object, id string, param object) error {
	op, err := operation(doc, id)
	if err != nil {
		return err
	}
	if findParam(op, "query", specjson.Str(param, "name")) == nil {
		op["parameters"] = append(specjson.Arr(op, "parameters"), param)
	}
	return nil
}

// cloneJSON deep-copies a decoded JSON value, so two definitions never
// share a node that a later fix-up might change.
func cloneJSON(v any) any {
	switch n := v.(type) {
	case object:
		out := make(object, len(n))
		for k, e := range n {
			out[k] = cloneJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			out[i] = cloneJSON(e)
		}
		return out
	}
	return v
}
