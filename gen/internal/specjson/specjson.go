// Package specjson reads and writes spec documents as generic JSON trees with
// a stable, reviewable layout, so that every pin or fix-up is a readable diff.
package specjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Object is one JSON object of a spec document.
type Object = map[string]any

// Decode parses a JSON document, keeping numbers exact (json.Number) so that
// large integers such as int64 bounds survive a round trip unchanged.
func Decode(data []byte) (Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc Object
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode spec: %w", err)
	}
	return doc, nil
}

// ReadFile decodes the JSON document at path.
func ReadFile(path string) (Object, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// Encode renders doc with sorted keys, two-space indentation, no HTML
// escaping and a trailing newline.
func Encode(doc any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile encodes doc into path.
func WriteFile(path string, doc any) error {
	data, err := Encode(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Obj returns m[key] as an object, or nil.
func Obj(m Object, key string) Object {
	v, _ := m[key].(Object)
	return v
}

// Arr returns m[key] as an array, or nil.
func Arr(m Object, key string) []any {
	v, _ := m[key].([]any)
	return v
}

// Str returns m[key] as a string, or "".
func Str(m Object, key string) string {
	v, _ := m[key].(string)
	return v
}

// HTTPMethods are the operation keys of a Swagger 2.0 path item, in the
// order generators and reports list them.
var HTTPMethods = []string{"get", "put", "post", "delete", "options", "head", "patch"}

// Operation is one operation of a Swagger 2.0 document with its location.
type Operation struct {
	Path   string
	Method string
	Op     Object
}

// Operations lists every operation of a Swagger 2.0 document in path, then
// method order.
func Operations(doc Object) []Operation {
	paths := Obj(doc, "paths")
	var ops []Operation
	for _, p := range SortedKeys(paths) {
		item, _ := paths[p].(Object)
		for _, m := range HTTPMethods {
			if op, ok := item[m].(Object); ok {
				ops = append(ops, Operation{Path: p, Method: m, Op: op})
			}
		}
	}
	return ops
}
