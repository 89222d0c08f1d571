package flytest

import (
	"encoding/json"
	"strings"
)

// The real API always sends some fields, even when they are zero or null:
// a start's migrated and new_host, a volume's attached_machine_id (null
// until a Machine mounts it), an app's machine_count, a snapshot's size.
// Clients in other languages test `=== null` or add sizes up, so the
// emulator must send them too. The generated models cannot be relied on
// for that (their json tags leave zero values out, and may change), so
// answers that carry such fields go through an object: the model encoded
// as it encodes, then the fields the API always sends filled in. The
// evidence for each list is the body Fly's docs or a captured production
// answer shows (../shared/realbodies, named beside each list).

// object is a JSON object as it goes on the wire: each key's raw value.
type object map[string]json.RawMessage

// objectOf encodes v (a model) and reads it back as an object.
func objectOf(v any) object {
	data, err := json.Marshal(v)
	if err != nil {
		panic("flytest: encoding an answer: " + err.Error())
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil || o == nil {
		panic("flytest: an answer is not a JSON object: " + string(data))
	}
	return o
}

// always sets each key the object lacks to its raw default: the fields the
// API sends even when they are zero.
func (o object) always(defaults map[string]string) object {
	for k, raw := range defaults {
		if _, ok := o[k]; !ok {
			o[k] = json.RawMessage(raw)
		}
	}
	return o
}

// nullWhenEmpty sends each key as null unless it holds a non-empty
// string: the API's way with an optional reference (attached_machine_id).
func (o object) nullWhenEmpty(keys ...string) object {
	for _, k := range keys {
		if v, ok := o[k]; !ok || string(v) == `""` || string(v) == "null" {
			o[k] = json.RawMessage("null")
		}
	}
	return o
}

// set replaces key with v encoded.
func (o object) set(key string, v any) object {
	data, err := json.Marshal(v)
	if err != nil {
		panic("flytest: encoding " + key + ": " + err.Error())
	}
	o[key] = data
	return o
}

// Fields each answer always carries, with the value they have when zero.
var (
	// appAlways: a03-docs-apps-list.json shows machine_count, volume_count
	// and network; a02-docs-app-show.json status and organization.
	appAlways = map[string]string{
		"id": `""`, "name": `""`, "status": `""`, "network": `""`,
		"machine_count": "0", "volume_count": "0", "internal_numeric_id": "0",
		"organization": `{"name":"","slug":""}`,
	}
	// startAlways: s01-docs-start-resp.json.
	startAlways = map[string]string{"previous_state": `""`, "migrated": "false", "new_host": `""`}
	// volumeAlways: v01-obelisk-2025-volume.json (a production answer) and
	// v03-docs-create-a-volume.json; attached_machine_id and
	// attached_alloc_id are null when unset (nullWhenEmpty).
	volumeAlways = map[string]string{
		"id": `""`, "name": `""`, "state": `""`, "size_gb": "0", "region": `""`, "zone": `""`,
		"encrypted": "false", "created_at": `""`, "blocks": "0", "block_size": "0",
		"blocks_free": "0", "blocks_avail": "0", "bytes_used": "0", "bytes_total": "0",
		"fstype": `""`, "snapshot_retention": "0", "auto_backup_enabled": "false",
		"host_dedication_key": `""`,
	}
	// snapshotAlways: v08-docs-get-a-list-of-snapshots-for-.json.
	snapshotAlways = map[string]string{"id": `""`, "size": "0", "digest": `""`, "created_at": `""`, "retention_days": "0"}
	// leaseDataAlways: l01-docs-lease-create.json.
	leaseDataAlways = map[string]string{"nonce": `""`, "expires_at": "0", "owner": `""`, "description": `""`, "version": `""`}
	// certAlways: c02-docs-request-acme-certificate.json and
	// c03-docs-get-certificate-details.json (detail, check); validation's
	// four booleans are always there too (certValidationAlways).
	certAlways = map[string]string{
		"hostname": `""`, "configured": "false", "acme_requested": "false", "status": `""`,
		"rate_limited_until": "null", "certificates": "[]", "validation_errors": "[]",
	}
	certValidationAlways = map[string]string{
		"dns_configured": "false", "alpn_configured": "false", "http_configured": "false", "ownership_txt_configured": "false",
	}
	// certSummaryAlways: c01-docs-list-certificates.json.
	certSummaryAlways = map[string]string{
		"hostname": `""`, "status": `""`, "acme_dns_configured": "false", "acme_alpn_configured": "false",
		"acme_http_configured": "false", "ownership_txt_configured": "false", "configured": "false",
		"acme_requested": "false", "has_custom_certificate": "false", "has_fly_certificate": "false",
		"created_at": `""`, "updated_at": `""`,
	}
	// machineAlways: m09-obelisk-2025-get.json, m10-obelisk-2026-create.json
	// and m11-vimarcade-2024-create.json (production answers) all carry
	// incomplete_config, null beside a full config.
	machineAlways = map[string]string{"incomplete_config": "null"}
)

func appAnswer(v any) object { return objectOf(v).always(appAlways) }

func startAnswer(v any) object { return objectOf(v).always(startAlways) }

func volumeAnswer(v any) object {
	return objectOf(v).always(volumeAlways).nullWhenEmpty("attached_machine_id", "attached_alloc_id")
}

func snapshotAnswer(v any) object { return objectOf(v).always(snapshotAlways) }

// certAnswer is a certificate's detail (or check) as the API sends it.
func certAnswer(v any) object {
	o := objectOf(v).always(certAlways)
	var validation object
	if json.Unmarshal(o["validation"], &validation) != nil || validation == nil {
		validation = object{}
	}
	return o.set("validation", validation.always(certValidationAlways))
}

func certSummaryAnswer(v any) object { return objectOf(v).always(certSummaryAlways) }

func leaseAnswer(status string, data any) object {
	return object{}.set("status", status).set("data", objectOf(data).always(leaseDataAlways))
}

// machineAnswer is a Machine as the API sends it: incomplete_config
// always, and its services' autostop as the API writes it (autostopWire).
func machineAnswer(v any) object {
	o := objectOf(v).always(machineAlways)
	if raw, ok := o["config"]; ok && string(raw) != "null" {
		o["config"] = configWire(raw)
	}
	return o
}

// configWire rewrites a Machine config's services' autostop the way the
// API answers it: "off" and "stop" as the booleans false and true, only
// "suspend" as a string. fly-go writes it so "for backward compatibility"
// (MachineAutostop.MarshalJSON), and the API answers what it stored.
func configWire(raw json.RawMessage) json.RawMessage {
	var cfg object
	if json.Unmarshal(raw, &cfg) != nil {
		return raw
	}
	var services []object
	if json.Unmarshal(cfg["services"], &services) != nil || len(services) == 0 {
		return raw
	}
	for _, s := range services {
		if a, ok := s["autostop"]; ok {
			s["autostop"] = autostopWire(a)
		}
	}
	cfg.set("services", services)
	out, err := json.Marshal(cfg)
	if err != nil {
		return raw
	}
	return out
}

func autostopWire(raw json.RawMessage) json.RawMessage {
	switch strings.TrimSpace(string(raw)) {
	case `"off"`:
		return json.RawMessage("false")
	case `"stop"`:
		return json.RawMessage("true")
	}
	return raw
}
