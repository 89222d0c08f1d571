package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

func clashDoc(method string) specjson.Object {
	return specjson.Object{
		"swagger": "2.0",
		"paths": specjson.Object{
			"/v1/apps/{app_name}/machines/{machine_id}/metadata": specjson.Object{
				"patch":  specjson.Object{"operationId": "Machines_update_metadata"},
				method:   specjson.Object{"operationId": "Machines_update_metadata"},
				"delete": specjson.Object{"operationId": "Other"},
			},
		},
	}
}

// TestPinRefusesSharedOperationIDs: go-swagger keeps one of two operations
// that share an id (it turned the older spec's PATCH metadata into PUT), so
// the pin step refuses such a document, naming both operations.
func TestPinRefusesSharedOperationIDs(t *testing.T) {
	doc := clashDoc("post")
	err := settleOperationIDs(doc)
	if err == nil {
		t.Fatal("a shared operationId was accepted")
	}
	for _, want := range []string{"Machines_update_metadata", "PATCH /v1/apps/{app_name}/machines/{machine_id}/metadata", "POST /v1/apps/{app_name}/machines/{machine_id}/metadata", "clashRenames"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestPinSettlesKnownClashes: a clash with a rename in clashRenames is
// settled, and the other operation keeps its id.
func TestPinSettlesKnownClashes(t *testing.T) {
	doc := clashDoc("put")
	if err := settleOperationIDs(doc); err != nil {
		t.Fatal(err)
	}
	item := specjson.Obj(specjson.Obj(doc, "paths"), "/v1/apps/{app_name}/machines/{machine_id}/metadata")
	if got := specjson.Str(specjson.Obj(item, "put"), "operationId"); got != "Machines_update_metadata_deprecated" {
		t.Errorf("PUT is %q", got)
	}
	if got := specjson.Str(specjson.Obj(item, "patch"), "operationId"); got != "Machines_update_metadata" {
		t.Errorf("PATCH is %q", got)
	}
}

// TestOlderUpstreamPinsWithBothMetadataWrites: the real earlier upstream
// document, whose metadata PUT and PATCH share an id, pins with both.
func TestOlderUpstreamPinsWithBothMetadataWrites(t *testing.T) {
	raw := readUpstream(t, "machines-openapi3-2026-08-older.json")
	doc, err := Pin(raw, Provenance{Source: "older", Date: "2026-08-01"})
	if err != nil {
		t.Fatal(err)
	}
	item := specjson.Obj(specjson.Obj(doc, "paths"), "/v1/apps/{app_name}/machines/{machine_id}/metadata")
	if specjson.Obj(item, "put") == nil || specjson.Obj(item, "patch") == nil {
		t.Fatal("a metadata write is missing")
	}
	if specjson.Str(specjson.Obj(item, "put"), "operationId") == specjson.Str(specjson.Obj(item, "patch"), "operationId") {
		t.Error("PUT and PATCH still share an id")
	}
}

// TestRepinningUnchangedUpstreamKeepsTheDate: `make spec` on the input
// swagger.json was pinned from leaves it byte-identical; a changed input
// gets today's date.
func TestRepinningUnchangedUpstreamKeepsTheDate(t *testing.T) {
	raw := readUpstream(t, "machines-openapi3.json")
	out := filepath.Join(t.TempDir(), "swagger.json")
	doc, err := Pin(raw, Provenance{Source: "x", Date: "2020-01-02"})
	if err != nil {
		t.Fatal(err)
	}
	if err := specjson.WriteFile(out, doc); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)
	if got := pinDate(out, raw, now); got != "2020-01-02" {
		t.Errorf("same input: date %s, want the recorded 2020-01-02", got)
	}
	if got := pinDate(out, append(raw, ' '), now); got != "2030-05-06" {
		t.Errorf("changed input: date %s, want today", got)
	}
	if got := pinDate(filepath.Join(t.TempDir(), "none.json"), raw, now); got != "2030-05-06" {
		t.Errorf("no earlier pin: date %s, want today", got)
	}
}

// upstreamDir holds the upstream copies; CI always has it beside the
// repository.
const upstreamDir = "../../../../shared/upstream"

// readUpstream reads an upstream copy. Its absence fails the test: these
// checks guard the pinned spec and never skip silently.
func readUpstream(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(upstreamDir, name))
	if err != nil {
		t.Fatalf("upstream copy %s is needed (../shared/upstream beside the repository): %v", name, err)
	}
	return raw
}

// upstreamBySum finds the upstream document whose sha256 is sum: the
// recorded source when it is a readable file, else any copy in
// ../shared/upstream, else the file FLYMACHINES_UPSTREAM_SPEC names (for a
// pin made from a URL). Nothing found fails the test, naming what to do.
func upstreamBySum(t *testing.T, sum, recorded string) []byte {
	t.Helper()
	candidates := []string{filepath.Join("../../..", recorded)}
	if env := os.Getenv("FLYMACHINES_UPSTREAM_SPEC"); env != "" {
		candidates = append(candidates, env)
	}
	more, _ := filepath.Glob(filepath.Join(upstreamDir, "*.json"))
	candidates = append(candidates, more...)
	for _, c := range candidates {
		raw, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		if s := sha256.Sum256(raw); hex.EncodeToString(s[:]) == sum {
			return raw
		}
	}
	t.Fatalf("swagger.json was pinned from %s (sha256 %s), and no copy of it was found: "+
		"put it in ../shared/upstream or name it in FLYMACHINES_UPSTREAM_SPEC", recorded, sum)
	return nil
}

// TestCheckNamesWhatMoved: the scheduled re-pin names each operation and
// definition that changed between the pinned spec and upstream, and
// nothing when only the date differs.
func TestCheckNamesWhatMoved(t *testing.T) {
	older, err := Pin(readUpstream(t, "machines-openapi3-2026-08-older.json"), Provenance{Source: "s", Date: "2026-08-01"})
	if err != nil {
		t.Fatal(err)
	}
	newer, err := Pin(readUpstream(t, "machines-openapi3.json"), Provenance{Source: "s", Date: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	same, err := Pin(readUpstream(t, "machines-openapi3.json"), Provenance{Source: "s", Date: "2030-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if d := specDiff(newer, same); len(d) != 0 {
		t.Errorf("a new date alone reads as a change: %v", d)
	}
	d := strings.Join(specDiff(older, newer), "\n")
	for _, want := range []string{"added operation Postgres_queries_active", "added operation Postgres_queries_slow"} {
		if !strings.Contains(d, want) {
			t.Errorf("diff does not say %q:\n%s", want, d)
		}
	}
}
