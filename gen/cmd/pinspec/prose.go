package main

import (
	"strings"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// proseKeys are the keywords whose values are upstream prose. The project
// writes its own documentation (gen/docs), so none of it is pinned.
var proseKeys = []string{"description", "summary", "externalDocs"}

// nameMaps are keywords whose value maps user-chosen names (a property called
// "description", a path, a status code) to objects: their keys are never
// keywords, so they are kept while the objects inside are stripped.
var nameMaps = map[string]bool{
	"properties":          true,
	"patternProperties":   true,
	"definitions":         true,
	"parameters":          true, // the top-level map; in an operation it is an array
	"responses":           true,
	"paths":               true,
	"securityDefinitions": true,
	"headers":             true,
}

// literalKeys hold API data (values, not schema), never walked.
var literalKeys = map[string]bool{"default": true, "enum": true, "example": true, "examples": true}

// stripProse removes upstream prose from node in place. isResponse marks a
// Swagger 2.0 response object, whose description is required: it is kept
// present but empty.
func stripProse(node any, isResponse bool) {
	switch n := node.(type) {
	case specjson.Object:
		for _, k := range proseKeys {
			delete(n, k)
		}
		if isResponse {
			if _, isRef := n["$ref"]; !isRef {
				n["description"] = ""
			}
		}
		for k, v := range n {
			switch {
			case strings.HasPrefix(k, "x-") || literalKeys[k]:
			case nameMaps[k]:
				if names, ok := v.(specjson.Object); ok {
					for _, child := range names {
						stripProse(child, k == "responses")
					}
				} else {
					stripProse(v, false)
				}
			default:
				stripProse(v, false)
			}
		}
	case []any:
		for _, v := range n {
			stripProse(v, false)
		}
	}
}
