package fixup

import (
	"errors"
	"fmt"
	"go/token"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

// OperationFacts is what the project states about one operation beyond
// the spec (gen/facts.yaml): its name in the generated client and how the
// facade may treat it.
type OperationFacts struct {
	Go         string `yaml:"go"`        // Group.Method
	Repeatable *bool  `yaml:"repeat"`    // required: safe to resend after an ambiguous failure
	LeaseNonce bool   `yaml:"lease"`     // carries the Machine lease's nonce
	RateClass  string `yaml:"rate"`      // client-side rate limit, "default" when empty
	LongPoll   bool   `yaml:"long_poll"` // 408 means "not yet"
}

// rateClasses are the client-side limits the facade knows.
var rateClasses = []string{"default", "get_machine"}

// Facts are the operation facts by operationId.
type Facts map[string]OperationFacts

// LoadFacts reads gen/facts.yaml.
func LoadFacts(path string) (Facts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f Facts
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Merge writes the facts into doc as x-fly-* extensions (and
// x-go-operation-tag, which makes the group go-swagger's package). The facts
// must match the spec exactly: every operation has them, none is for an
// operation the spec lacks, and no two operations share a Go name. All
// problems are reported at once.
func (f Facts) Merge(doc object) error {
	var problems []string
	seen := map[string]bool{}
	names := map[string]string{} // Group.Method -> operationId
	for _, op := range specjson.Operations(doc) {
		id := specjson.Str(op.Op, "operationId")
		seen[id] = true
		facts, ok := f[id]
		if !ok {
			problems = append(problems, "operation "+id+" has no facts")
			continue
		}
		group, method, ok := strings.Cut(facts.Go, ".")
		if !ok || !token.IsExported(group) || !token.IsExported(method) || !token.IsIdentifier(method) || !token.IsIdentifier(group) {
			problems = append(problems, fmt.Sprintf("operation %s: go %q is not Group.Method", id, facts.Go))
			continue
		}
		if other, dup := names[facts.Go]; dup {
			problems = append(problems, fmt.Sprintf("operations %s and %s are both %s", other, id, facts.Go))
		}
		names[facts.Go] = id
		if facts.Repeatable == nil {
			problems = append(problems, "operation "+id+": repeat is not stated")
			continue
		}
		rate := facts.RateClass
		if rate == "" {
			rate = "default"
		}
		if !slices.Contains(rateClasses, rate) {
			problems = append(problems, fmt.Sprintf("operation %s: unknown rate class %q", id, rate))
		}
		op.Op["x-go-operation-tag"] = strings.ToLower(group)
		op.Op["x-fly-group"] = group
		op.Op["x-fly-method"] = method
		op.Op["x-fly-repeatable"] = *facts.Repeatable
		op.Op["x-fly-lease-nonce"] = facts.LeaseNonce
		op.Op["x-fly-rate-class"] = rate
		op.Op["x-fly-long-poll"] = facts.LongPoll
	}
	for id := range f {
		if !seen[id] {
			problems = append(problems, "facts.yaml states facts of unknown operation "+id)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("facts do not match the spec:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// Prepare turns the pinned spec into the document go-swagger reads: the
// facts first (fix-ups read them), then the fix-ups, then the docs (they
// document what the fix-ups add). Every problem of the three is reported
// together.
func Prepare(doc object, facts Facts, docs *Docs, verbose bool) error {
	return errors.Join(facts.Merge(doc), Apply(doc, verbose), docs.Merge(doc))
}

// leaseNonced reports whether the facts merged into op say it carries the
// lease nonce.
func leaseNonced(op object) bool {
	v, _ := op["x-fly-lease-nonce"].(bool)
	return v
}
