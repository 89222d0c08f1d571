package flymachines_test

// The corpus as a test: real bodies of the Machines API (Fly's docs, captures
// by public projects, fly-go's own test values), kept beside the project in
// ../shared/realbodies with a manifest naming each one's model. Every body
// must decode into its model, validate, and encode back with nothing lost,
// changed or added.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/models"
)

// realBodiesDir holds the corpus; FLYMACHINES_REALBODIES points elsewhere.
func realBodiesDir() string {
	if dir := os.Getenv("FLYMACHINES_REALBODIES"); dir != "" {
		return dir
	}
	return filepath.Join("..", "shared", "realbodies")
}

// corpusModels are the models the manifest names, each as the value a body
// decodes into: lists as the generated client decodes them.
var corpusModels = map[string]func() any{
	"App":                              func() any { return new(models.App) },
	"CertificateCheckResponse":         func() any { return new(models.CertificateCheckResponse) },
	"CertificateDetail":                func() any { return new(models.CertificateDetail) },
	"CreateAppDeployTokenResponse":     func() any { return new(models.CreateAppDeployTokenResponse) },
	"CreateAppResponse":                func() any { return new(models.CreateAppResponse) },
	"CreateLeaseRequest":               func() any { return new(models.CreateLeaseRequest) },
	"CreateMachineRequest":             func() any { return new(models.CreateMachineRequest) },
	"ErrorResponse":                    func() any { return new(models.ErrorResponse) },
	"ExtendVolumeResponse":             func() any { return new(models.ExtendVolumeResponse) },
	"FlyHTTPOptions":                   func() any { return new(models.FlyHTTPOptions) },
	"FlyMachineConfig":                 func() any { return new(models.FlyMachineConfig) },
	"LeaseResponse":                    func() any { return new(models.LeaseResponse) },
	"ListAppsResponse":                 func() any { return new(models.ListAppsResponse) },
	"Machine":                          func() any { return new(models.Machine) },
	"StartMachineResponse":             func() any { return new(models.StartMachineResponse) },
	"UpdateMachineRequest":             func() any { return new(models.UpdateMachineRequest) },
	"Volume":                           func() any { return new(models.Volume) },
	"WaitMachineResponse":              func() any { return new(models.WaitMachineResponse) },
	"[]Machine":                        func() any { return new([]*models.Machine) },
	"[]ProcessStat":                    func() any { return new([]*models.ProcessStat) },
	"[]Volume":                         func() any { return new([]*models.Volume) },
	"[]VolumeSnapshot":                 func() any { return new([]*models.VolumeSnapshot) },
	"destroyCustomCertificateResponse": func() any { return new(models.DestroyCustomCertificateResponse) },
	"listCertificatesResponse":         func() any { return new(models.ListCertificatesResponse) },
	"map[string]string":                func() any { return new(map[string]string) },
}

// corpusExceptions are the bodies that cannot pass, and why. The test fails
// when one of them passes, so the list stays honest.
var corpusExceptions = map[string]string{
	"v10-docs-create-an-on-demand-volume-s.json": "the spec declares no answer body for createVolumeSnapshot and the docs' " +
		`example ({"Msg":{"backup":...}}) is the only evidence of one: no model to decode it into`,
}

type corpusEntry struct {
	File       string   `json:"file"`
	Model      string   `json:"model"`
	Kind       string   `json:"kind"`
	Normalised []string `json:"normalised"`
	Note       string   `json:"note"`
}

// TestRealBodiesRoundTrip: each body decodes into its model as the client
// decodes answers (numbers kept as sent), validates, and encodes back (as
// the client encodes requests) to the same JSON value: no member lost, no
// value changed, nothing added. Key order and insignificant formatting
// (spacing, 1.0 against 1, escapes) are not compared.
//
// A null the API sent must come back as null: an absent key is not the
// same answer (clients in other languages test for null), and a
// read-modify-write update sends back what it read. So a null, like any
// value, counts as lost when the key vanishes, and a null where the body
// had no key counts as added.
func TestRealBodiesRoundTrip(t *testing.T) {
	dir := realBodiesDir()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if os.IsNotExist(err) {
		t.Skipf("no corpus at %s (set FLYMACHINES_REALBODIES to its folder): the real-bodies round trip is not checked", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var entries []corpusEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var passed, nullsAdded, lost, changed, added int
	for _, e := range entries {
		t.Run(strings.TrimSuffix(e.File, ".json"), func(t *testing.T) {
			problems, tally, err := roundTripBody(filepath.Join(dir, e.File), e.Model)
			nullsAdded += tally.nullsAdded
			lost += tally.lost
			changed += tally.changed
			added += tally.added
			if err != nil {
				problems = append(problems, err.Error())
			}
			reason, listed := corpusExceptions[e.File]
			switch {
			case listed && len(problems) == 0:
				t.Errorf("listed as failing (%s) but it passes: take it off corpusExceptions", reason)
			case listed:
				t.Logf("known failure: %s\n  %s", reason, strings.Join(problems, "\n  "))
			case len(problems) > 0:
				t.Errorf("%s as %s (%s):\n  %s", e.File, e.Model, e.Kind, strings.Join(problems, "\n  "))
			default:
				passed++
			}
		})
	}
	for file := range corpusExceptions {
		if !slices.ContainsFunc(entries, func(e corpusEntry) bool { return e.File == file }) {
			t.Errorf("corpusExceptions lists %s, which the manifest does not", file)
		}
	}
	t.Logf("%d of %d bodies round-trip; across the corpus: %d values lost, %d changed, %d members added (%d of them null)",
		passed, len(entries), lost, changed, added, nullsAdded)
}

type roundTripTally struct{ lost, changed, added, nullsAdded int }

// roundTripBody decodes, validates and re-encodes one body, and lists what
// differs.
func roundTripBody(path, model string) ([]string, roundTripTally, error) {
	var tally roundTripTally
	newModel, ok := corpusModels[model]
	if !ok {
		return nil, tally, fmt.Errorf("the manifest names model %q, which corpusModels lacks", model)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, tally, err
	}
	v := newModel()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // as the client's JSON consumer does
	if err := dec.Decode(v); err != nil {
		return nil, tally, fmt.Errorf("decode: %w", err)
	}
	if err := validateModel(v); err != nil {
		return nil, tally, fmt.Errorf("validate: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // as the client's JSON producer does
	if err := enc.Encode(v); err != nil {
		return nil, tally, fmt.Errorf("encode: %w", err)
	}
	before, err := decodeJSONValue(body)
	if err != nil {
		return nil, tally, err
	}
	after, err := decodeJSONValue(out.Bytes())
	if err != nil {
		return nil, tally, err
	}
	var problems []string
	diffJSON("$", before, after, &problems, &tally)
	return problems, tally, nil
}

type validatable interface {
	Validate(strfmt.Registry) error
}

// validateModel validates a model, or each model of a list.
func validateModel(v any) error {
	switch m := v.(type) {
	case validatable:
		return m.Validate(strfmt.Default)
	case *[]*models.Machine:
		return validateEach(*m)
	case *[]*models.ProcessStat:
		return validateEach(*m)
	case *[]*models.Volume:
		return validateEach(*m)
	case *[]*models.VolumeSnapshot:
		return validateEach(*m)
	case *map[string]string:
		return nil
	}
	return fmt.Errorf("no way to validate %T", v)
}

func validateEach[M validatable](list []M) error {
	for i, m := range list {
		if err := m.Validate(strfmt.Default); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	return nil
}

func decodeJSONValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// diffJSON compares two JSON values, adding a line to problems for each
// member lost, value changed or member added.
func diffJSON(path string, before, after any, problems *[]string, tally *roundTripTally) {
	switch b := before.(type) {
	case map[string]any:
		a, ok := after.(map[string]any)
		if !ok {
			tally.changed++
			*problems = append(*problems, fmt.Sprintf("changed %s: %s -> %s", path, short(before), short(after)))
			return
		}
		for _, k := range sortedKeys(b) {
			av, ok := a[k]
			if !ok {
				tally.lost++
				*problems = append(*problems, fmt.Sprintf("lost %s.%s (was %s)", path, k, short(b[k])))
				continue
			}
			diffJSON(path+"."+k, b[k], av, problems, tally)
		}
		for _, k := range sortedKeys(a) {
			if _, ok := b[k]; !ok {
				tally.added++
				if a[k] == nil {
					tally.nullsAdded++
				}
				*problems = append(*problems, fmt.Sprintf("added %s.%s = %s", path, k, short(a[k])))
			}
		}
	case []any:
		a, ok := after.([]any)
		if !ok || len(a) != len(b) {
			tally.changed++
			*problems = append(*problems, fmt.Sprintf("changed %s: %s -> %s", path, short(before), short(after)))
			return
		}
		for i := range b {
			diffJSON(fmt.Sprintf("%s[%d]", path, i), b[i], a[i], problems, tally)
		}
	case json.Number:
		a, ok := after.(json.Number)
		if !ok || !sameNumber(b, a) {
			tally.changed++
			*problems = append(*problems, fmt.Sprintf("changed %s: %s -> %s", path, short(before), short(after)))
		}
	default: // string, bool, nil
		if before != after {
			tally.changed++
			*problems = append(*problems, fmt.Sprintf("changed %s: %s -> %s", path, short(before), short(after)))
		}
	}
}

func sameNumber(x, y json.Number) bool {
	a, okA := new(big.Rat).SetString(string(x))
	b, okB := new(big.Rat).SetString(string(y))
	return okA && okB && a.Cmp(b) == 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
