// Command fixspec prepares the pinned swagger.json for go-swagger: it applies
// the project's ordered fix-ups for known upstream defects (fixups.go) and
// merges the project-written documentation (gen/docs), writing the document
// the generator reads. swagger.json itself stays exactly as pinned.
//
//	go run ./cmd/fixspec -in ../swagger.json -docs docs -out /tmp/fixed.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/flymachines/flymachines-go/gen/internal/fixup"
	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

func main() {
	in := flag.String("in", "../swagger.json", "pinned Swagger 2.0 document")
	docs := flag.String("docs", "docs", "folder with operations.yaml, models.yaml and tags.yaml")
	facts := flag.String("facts", "facts.yaml", "the operation facts")
	out := flag.String("out", "", "where to write the fixed document (required)")
	verbose := flag.Bool("v", false, "list each fix-up as it is applied")
	flag.Parse()
	if err := run(*in, *docs, *facts, *out, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "fixspec:", err)
		os.Exit(1)
	}
}

func run(in, docsDir, factsFile, out string, verbose bool) error {
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	doc, err := specjson.ReadFile(in)
	if err != nil {
		return err
	}
	facts, err := fixup.LoadFacts(factsFile)
	if err != nil {
		return err
	}
	docs, err := fixup.LoadDocs(docsDir)
	if err != nil {
		return err
	}
	if err := fixup.Prepare(doc, facts, docs, verbose); err != nil {
		return err
	}
	return specjson.WriteFile(out, doc)
}
