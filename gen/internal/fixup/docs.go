package fixup

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// OperationDoc is the project's documentation of one operation.
type OperationDoc struct {
	Summary     string `yaml:"summary"`
	Description string `yaml:"description"`
}

// Docs is the project-written documentation merged into the spec: the
// upstream prose is never pinned, so every word of the generated godoc comes
// from here.
type Docs struct {
	Operations map[string]OperationDoc // by operationId
	Models     map[string]string       // by definition name
	Tags       map[string]string       // by tag name
}

// LoadDocs reads operations.yaml, models.yaml and tags.yaml from dir.
func LoadDocs(dir string) (*Docs, error) {
	d := &Docs{}
	for file, into := range map[string]any{
		"operations.yaml": &d.Operations,
		"models.yaml":     &d.Models,
		"tags.yaml":       &d.Tags,
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
	}
	return d, nil
}

// Merge writes the docs into doc. Docs must match the spec exactly: an
// undocumented operation or model, or a doc for one that no longer exists,
// is an error, so the generated godoc never silently goes blank or stale.
func (d *Docs) Merge(doc object) error {
	var problems []string
	seenOps := map[string]bool{}
	usedTags := map[string]bool{}
	for _, op := range specjson.Operations(doc) {
		id := specjson.Str(op.Op, "operationId")
		seenOps[id] = true
		for _, t := range specjson.Arr(op.Op, "tags") {
			usedTags[t.(string)] = true
		}
		od, ok := d.Operations[id]
		if !ok || strings.TrimSpace(od.Summary) == "" {
			problems = append(problems, "operation "+id+" has no summary")
			continue
		}
		op.Op["summary"] = strings.TrimSpace(od.Summary)
		if desc := strings.TrimSpace(od.Description); desc != "" {
			op.Op["description"] = desc
		}
	}
	for id := range d.Operations {
		if !seenOps[id] {
			problems = append(problems, "operations.yaml documents unknown operation "+id)
		}
	}

	defs := specjson.Obj(doc, "definitions")
	for name, def := range defs {
		text := strings.TrimSpace(d.Models[name])
		if text == "" {
			problems = append(problems, "model "+name+" has no description")
			continue
		}
		def.(object)["description"] = text
	}
	for name := range d.Models {
		if defs[name] == nil {
			problems = append(problems, "models.yaml documents unknown model "+name)
		}
	}

	var tags []any
	for _, name := range specjson.SortedKeys(usedTags) {
		text := strings.TrimSpace(d.Tags[name])
		if text == "" {
			problems = append(problems, "tag "+name+" has no description")
		}
		tags = append(tags, object{"name": name, "description": text})
	}
	doc["tags"] = tags

	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("docs do not match the spec:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}
