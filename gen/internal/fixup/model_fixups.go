package fixup

import (
	"fmt"
	"slices"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// The model fix-ups: fields and types the API sends or accepts that the
// spec does not describe. Unknown keys survive in every model anyway
// (flytypes.Extra); these give the known ones a typed field.

// addedProperty is one property the spec lacks, with its evidence.
type addedProperty struct {
	definition, name string
	schema           object
	evidence         string
}

// knownProperties are read or sent by Fly's own Go client, fly-go v0.8.0
// (flyctl uses it against the API every day), or carried by captured
// answers, and missing from the spec.
var knownProperties = []addedProperty{
	{"fly.MachineConfig", "volumes", arrayOf("fly.VolumeConfig"),
		"fly-go machine_types.go, MachineConfig.Volumes"},
	{"fly.ContainerConfig", "mounts", arrayOf("fly.ContainerMount"),
		"fly-go machine_types.go, ContainerConfig.Mounts"},
	{"Machine", "containers", arrayOf("ContainerStatus"),
		"fly-go machine_types.go, Machine.ContainerStatuses"},
	{"App", "cname_target", object{"type": "string"},
		"fly-go flaps/flaps_apps.go, App.CnameTarget"},
	{"App", "app_role", object{"type": "string"},
		"fly-go flaps/flaps_apps.go, App.AppRole"},
	{"CreateAppRequest", "app_role_id", object{"type": "string"},
		"fly-go flaps/flaps_apps.go, CreateAppRequest.AppRoleID"},
	{"Volume", "host_dedication_id", object{"type": "string"},
		"fly-go volume_types.go, Volume.HostDedicationID"},
	{"Volume", "host_dedication_key", object{"type": "string"},
		`captured answers (obeli-sk/components-flyio volume.rs, 2025-09) and Fly's volume docs carry it, as ""`},
	{"main.regionRow", "capacity", object{"type": "integer"},
		"fly-go types.go, Region.Capacity"},
}

// knownDefinitions are the objects knownProperties refer to, as fly-go
// declares them (machine_types.go: VolumeConfig with its VolumeResource
// inlined, TempDirVolume, ContainerMount, ContainerStatus).
var knownDefinitions = map[string]object{
	"fly.VolumeConfig": {"type": "object", "properties": object{
		"name":     object{"type": "string"},
		"image":    object{"type": "string"},
		"temp_dir": object{"$ref": "#/definitions/fly.TempDirVolume"},
	}},
	"fly.TempDirVolume": {"type": "object", "properties": object{
		"storage_type": object{"type": "string", "enum": []any{"disk", "memory"}},
		"size_mb":      object{"type": "integer"},
	}},
	"fly.ContainerMount": {"type": "object", "properties": object{
		"name": object{"type": "string"},
		"path": object{"type": "string"},
	}},
	"ContainerStatus": {"type": "object", "properties": object{
		"name":  object{"type": "string"},
		"state": object{"type": "string"},
	}},
}

func arrayOf(definition string) object {
	return object{"type": "array", "items": object{"$ref": "#/definitions/" + definition}}
}

// knownFieldsTheSpecLacks adds knownDefinitions and knownProperties. One
// the spec has come to declare stops the fix-up: drop it here.
func knownFieldsTheSpecLacks(doc object) error {
	defs := specjson.Obj(doc, "definitions")
	for _, name := range specjson.SortedKeys(knownDefinitions) {
		if defs[name] != nil {
			return fmt.Errorf("the spec declares %s now: drop it from knownDefinitions", name)
		}
		defs[name] = knownDefinitions[name]
	}
	for _, p := range knownProperties {
		def := definition(doc, p.definition)
		if def == nil {
			return fmt.Errorf("definition %s is missing", p.definition)
		}
		props := specjson.Obj(def, "properties")
		if props[p.name] != nil {
			return fmt.Errorf("the spec declares %s.%s now: drop it from knownProperties", p.definition, p.name)
		}
		props[p.name] = p.schema
	}
	return nil
}

// persistRootfsFields are the properties that take a PersistRootfs.
var persistRootfsFields = map[string]string{
	"fly.MachineGuest":  "persist_rootfs",
	"fly.MachineRootfs": "persist",
}

// persistRootfsIntOrNone: persist_rootfs and rootfs.persist are declared
// as the strings never, always and restart, but fly-go also reads "none"
// and the integers 0 to 3 (machine_types.go, MachinePersistRootfs: "protobuf
// integer based enums"). The fields become flytypes.PersistRootfs, which
// reads every form and writes back the one it read.
func persistRootfsIntOrNone(doc object) error {
	for _, name := range specjson.SortedKeys(persistRootfsFields) {
		field := persistRootfsFields[name]
		prop := specjson.Obj(specjson.Obj(definition(doc, name), "properties"), field)
		if specjson.Str(prop, "type") != "string" {
			return fmt.Errorf("%s.%s is not a string any more", name, field)
		}
		delete(prop, "enum")
		prop["x-go-type"] = flytype("PersistRootfs")
	}
	return nil
}

// flytype is the x-go-type of a flytypes string type. Its Validate is
// called like an enum's.
func flytype(name string) object {
	return object{
		"import": object{"package": "github.com/flymachines/flymachines-go/flytypes"},
		"type":   name,
		"hints":  object{"kind": "primitive"},
	}
}

// errorStatusCodes are the statuses error bodies carry beyond the spec's
// enum: "error" is the status of the lease-conflict answer Fly's docs
// show ({"status":"error","message":...,"code":...}).
var errorStatusCodes = []string{"error"}

// errorStatusError: the status of an error body is declared as an enum
// that lacks errorStatusCodes, so a documented answer failed validation.
func errorStatusError(doc object) error {
	status := definition(doc, "main.statusCode")
	enum := specjson.Arr(status, "enum")
	if enum == nil {
		return fmt.Errorf("main.statusCode is no enum any more")
	}
	for _, code := range errorStatusCodes {
		if slices.Contains(enum, any(code)) {
			return fmt.Errorf("main.statusCode has %q now: drop it from errorStatusCodes", code)
		}
		enum = append(enum, code)
		if names := specjson.Arr(status, "x-enum-varnames"); names != nil {
			status["x-enum-varnames"] = append(names, code)
		}
	}
	status["enum"] = enum
	return nil
}

// eventRequestDefinitions type a Machine event's request as fly-go reads
// it (machine_types.go: MachineRequest, MachineMonitorEvent,
// MachineExitEvent), with the error and guest_error an exit carries.
var eventRequestDefinitions = map[string]object{
	"fly.MachineEventRequest": {"type": "object", "properties": object{
		"exit_event":    object{"$ref": "#/definitions/fly.MachineExitEvent"},
		"MonitorEvent":  object{"$ref": "#/definitions/fly.MachineMonitorEvent"},
		"restart_count": object{"type": "integer"},
	}},
	"fly.MachineMonitorEvent": {"type": "object", "properties": object{
		"exit_event": object{"$ref": "#/definitions/fly.MachineExitEvent"},
	}},
	"fly.MachineExitEvent": {"type": "object", "properties": object{
		"exit_code":       object{"type": "integer"},
		"guest_exit_code": object{"type": "integer"},
		"guest_signal":    object{"type": "integer"},
		"signal":          object{"type": "integer"},
		"oom_killed":      object{"type": "boolean"},
		"requested_stop":  object{"type": "boolean"},
		"restarting":      object{"type": "boolean"},
		"exited_at":       object{"type": "string", "x-go-type": flytype("EventTime")},
		"error":           object{"type": "string"},
		"guest_error":     object{"type": "string"},
	}},
}

// machineEventRequest: an event's request is declared as a bare object, so
// every reader had to pick the exit event apart by hand. It is typed as
// eventRequestDefinitions; exited_at comes as RFC 3339 text (captured
// answers: realbodies m07) or as milliseconds (Fly's guide: m05), and is a
// flytypes.EventTime, which reads both and writes back the one it read.
// Keys of other events' requests are kept by the models' Extra.
func machineEventRequest(doc object) error {
	prop := specjson.Obj(specjson.Obj(definition(doc, "MachineEvent"), "properties"), "request")
	if prop == nil || specjson.Str(prop, "type") != "object" || prop["properties"] != nil {
		return fmt.Errorf("MachineEvent.request is not a bare object any more")
	}
	defs := specjson.Obj(doc, "definitions")
	for _, name := range specjson.SortedKeys(eventRequestDefinitions) {
		if defs[name] != nil {
			return fmt.Errorf("the spec declares %s now: drop it from eventRequestDefinitions", name)
		}
		defs[name] = eventRequestDefinitions[name]
	}
	delete(prop, "type")
	prop["$ref"] = "#/definitions/fly.MachineEventRequest"
	return nil
}
