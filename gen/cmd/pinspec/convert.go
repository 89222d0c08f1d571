package main

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// downgrade converts an OpenAPI 3 document to Swagger 2.0 with kin-openapi,
// then repairs the references the converter leaves pointing into
// "#/components/...", which do not exist in Swagger 2.0.
func downgrade(raw []byte) (specjson.Object, error) {
	loader := openapi3.NewLoader()
	doc3, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI 3: %w", err)
	}
	doc2, err := openapi2conv.FromV3(doc3)
	if err != nil {
		return nil, fmt.Errorf("convert to Swagger 2.0: %w", err)
	}
	data, err := json.Marshal(doc2)
	if err != nil {
		return nil, err
	}
	doc, err := specjson.Decode(data)
	if err != nil {
		return nil, err
	}
	if err := rewriteRefs(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// componentHomes maps an OpenAPI 3 component kind to where Swagger 2.0 keeps
// the same objects.
var componentHomes = map[string]string{
	"schemas":         "#/definitions/",
	"parameters":      "#/parameters/",
	"responses":       "#/responses/",
	"securitySchemes": "#/securityDefinitions/",
}

// rewriteRefs points every "#/components/<kind>/<name>" reference at its
// Swagger 2.0 home. A kind with no Swagger 2.0 home is an error, never a
// silently dangling reference.
func rewriteRefs(node any) error {
	switch n := node.(type) {
	case specjson.Object:
		for k, v := range n {
			if ref, ok := v.(string); ok && k == "$ref" && strings.HasPrefix(ref, "#/components/") {
				rest := strings.TrimPrefix(ref, "#/components/")
				kind, name, _ := strings.Cut(rest, "/")
				home, ok := componentHomes[kind]
				if !ok {
					return fmt.Errorf("reference %s: components/%s has no Swagger 2.0 equivalent", ref, kind)
				}
				n[k] = home + name
				continue
			}
			if err := rewriteRefs(v); err != nil {
				return err
			}
		}
	case []any:
		for _, v := range n {
			if err := rewriteRefs(v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRefs fails on any local reference that does not resolve.
func checkRefs(doc specjson.Object) error {
	var missing []string
	var walk func(any)
	walk = func(node any) {
		switch n := node.(type) {
		case specjson.Object:
			if ref, ok := n["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
				if !resolves(doc, ref) {
					missing = append(missing, ref)
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
	walk(doc)
	if len(missing) > 0 {
		return fmt.Errorf("unresolved references: %s", strings.Join(missing, ", "))
	}
	return nil
}

func resolves(doc specjson.Object, ref string) bool {
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		obj, ok := cur.(specjson.Object)
		if !ok {
			return false
		}
		if cur, ok = obj[part]; !ok {
			return false
		}
	}
	return true
}

// foldBasePath moves a non-root basePath into the paths themselves, so that
// every pinned spec names full paths ("/v1/apps") under basePath "/" whatever
// form the source took. A path that already starts with the base path is not
// prefixed twice: the upstream Swagger 2.0 copy writes "/v1/tokens/current"
// under basePath "/v1", which would otherwise become "/v1/v1/tokens/current".
func foldBasePath(doc specjson.Object) {
	base := strings.TrimSuffix(specjson.Str(doc, "basePath"), "/")
	doc["basePath"] = "/"
	if base == "" {
		return
	}
	paths := specjson.Obj(doc, "paths")
	folded := specjson.Object{}
	for p, item := range paths {
		if p != base && !strings.HasPrefix(p, base+"/") {
			p = path.Join(base, p)
		}
		folded[p] = item
	}
	doc["paths"] = folded
}
