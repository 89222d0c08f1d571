package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// TestPinnedSpecIsReproducible: swagger.json is exactly what the pin step
// makes of the upstream copy it records, so nobody has edited it by hand.
func TestPinnedSpecIsReproducible(t *testing.T) {
	committed, err := os.ReadFile("../../../swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := specjson.Decode(committed)
	if err != nil {
		t.Fatal(err)
	}
	from := specjson.Obj(specjson.Obj(doc, "info"), "x-pinned-from")
	src := specjson.Str(from, "source")
	raw := upstreamBySum(t, specjson.Str(from, "sha256"), src)
	again, err := Pin(raw, Provenance{Source: src, Date: specjson.Str(from, "date")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := specjson.Encode(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, committed) {
		t.Error("swagger.json differs from a fresh pin of its recorded source: run `make spec SPEC=" + src + "`")
	}
}

func TestPinKeepsFactsAndDropsProse(t *testing.T) {
	raw := readUpstream(t, "machines-openapi3.json")
	doc := pinFile(t, newestSource)

	if got := specjson.Str(doc, "swagger"); got != "2.0" {
		t.Errorf("swagger = %q, want 2.0", got)
	}
	ops := specjson.Operations(doc)
	if len(ops) != 100 {
		t.Errorf("%d operations, want 100", len(ops))
	}
	if n := len(specjson.Obj(doc, "definitions")); n != 182 {
		t.Errorf("%d definitions, want 182", n)
	}

	// operationIds are the source's, unchanged.
	var src struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &src); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if want := src.Paths[op.Path][op.Method].OperationID; specjson.Str(op.Op, "operationId") != want {
			t.Errorf("%s %s: operationId %q, source has %q", op.Method, op.Path, specjson.Str(op.Op, "operationId"), want)
		}
	}

	// No prose survives: no summary or externalDocs anywhere, descriptions
	// only as the empty text Swagger 2.0 requires on responses.
	var walk func(path string, node any, isName bool)
	walk = func(path string, node any, isName bool) {
		switch n := node.(type) {
		case specjson.Object:
			for k, v := range n {
				if !isName {
					switch k {
					case "summary", "externalDocs":
						t.Errorf("%s: %s kept", path, k)
					case "description":
						if v != "" {
							t.Errorf("%s: description %q kept", path, v)
						}
					}
				}
				walk(path+"/"+k, v, !isName && nameMaps[k] && k != "parameters")
			}
		case []any:
			for _, v := range n {
				walk(path+"[]", v, false)
			}
		}
	}
	walk("#", doc, false)

	// A property named "description" is a fact, not prose.
	lease := specjson.Obj(specjson.Obj(specjson.Obj(doc, "definitions"), "Lease"), "properties")
	if lease["description"] == nil {
		t.Error("the Lease property named description was dropped")
	}
	if err := checkRefs(doc); err != nil {
		t.Error(err)
	}
}

func TestPinIsDeterministic(t *testing.T) {
	a, _ := specjson.Encode(pinFile(t, newestSource))
	b, _ := specjson.Encode(pinFile(t, newestSource))
	if !bytes.Equal(a, b) {
		t.Error("two pins of the same input differ")
	}
	if !bytes.HasSuffix(a, []byte("}\n")) || !bytes.Contains(a, []byte("\n  \"definitions\": {")) {
		t.Error("pinned output is not two-space indented with a trailing newline")
	}
}

func TestPinFoldsBasePathOnce(t *testing.T) {
	doc := pinFile(t, swagger2026)
	paths := specjson.Obj(doc, "paths")
	if paths["/v1/tokens/current"] == nil || paths["/v1/v1/tokens/current"] != nil {
		t.Error("the doubled /v1 of /v1/tokens/current was not repaired")
	}
	if paths["/v1/apps"] == nil || specjson.Str(doc, "basePath") != "/" {
		t.Error("basePath /v1 was not folded into the paths")
	}
}

func TestRewriteRefsRejectsUnknownComponents(t *testing.T) {
	doc := specjson.Object{"a": specjson.Object{"$ref": "#/components/callbacks/x"}}
	if err := rewriteRefs(doc); err == nil {
		t.Error("a reference to components/callbacks was accepted")
	}
	doc = specjson.Object{"a": []any{specjson.Object{"$ref": "#/components/schemas/X"}}}
	if err := rewriteRefs(doc); err != nil || specjson.Str(specjson.Arr(doc, "a")[0].(specjson.Object), "$ref") != "#/definitions/X" {
		t.Errorf("schema reference not rewritten: %v %v", doc, err)
	}
}
