// Command pinspec pins an upstream Machines API description as the project's
// swagger.json: it converts OpenAPI 3 down to Swagger 2.0, keeps every fact
// about the API (paths, operations, parameters, schemas, types, enums) and
// drops upstream prose, which the project replaces with its own (gen/docs).
//
//	go run ./cmd/pinspec -src https://docs.machines.dev/spec/openapi3.json -out ../swagger.json
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/gen/internal/specjson"
)

func main() {
	src := flag.String("src", "https://docs.machines.dev/spec/openapi3.json", "upstream spec: a file path or an http(s) URL")
	out := flag.String("out", "swagger.json", "where to write the pinned Swagger 2.0 document")
	as := flag.String("as", "", "source name to record in info.x-pinned-from (default: -src)")
	check := flag.Bool("check", false, "pin into memory and compare with -out: print what moved and exit 1 if anything did; -out is not written")
	date := flag.String("date", "", "pin date recorded in info.x-pinned-from (default: today, or the date -out records when it pinned the same bytes)")
	flag.Parse()
	if *as == "" {
		*as = *src
	}

	raw, err := fetch(context.Background(), *src)
	if err == nil {
		if *date == "" {
			*date = pinDate(*out, raw, time.Now())
		}
		var doc specjson.Object
		doc, err = Pin(raw, Provenance{Source: *as, Date: *date})
		switch {
		case err == nil && *check:
			var moved []string
			if moved, err = compareWithPinned(*out, doc); err == nil && len(moved) > 0 {
				fmt.Printf("the upstream spec moved since %s was pinned:\n  %s\n", *out, strings.Join(moved, "\n  "))
				os.Exit(1)
			}
			if err == nil {
				fmt.Printf("%s is up to date with %s\n", *out, *src)
			}
		case err == nil:
			err = specjson.WriteFile(*out, doc)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pinspec:", err)
		os.Exit(1)
	}
}

// Provenance says where a pinned spec came from.
type Provenance struct {
	Source string
	Date   string
}

// Pin turns an upstream document (Swagger 2.0 or OpenAPI 3, JSON) into the
// project's pinned Swagger 2.0 form.
func Pin(raw []byte, from Provenance) (specjson.Object, error) {
	doc, err := specjson.Decode(raw)
	if err != nil {
		return nil, err
	}
	format := "swagger-2.0"
	switch {
	case strings.HasPrefix(specjson.Str(doc, "openapi"), "3."):
		format = "openapi-" + specjson.Str(doc, "openapi")
		if doc, err = downgrade(raw); err != nil {
			return nil, err
		}
	case specjson.Str(doc, "swagger") == "2.0":
	default:
		return nil, fmt.Errorf("not a Swagger 2.0 or OpenAPI 3 document")
	}
	foldBasePath(doc)
	if err := settleOperationIDs(doc); err != nil {
		return nil, err
	}
	stripProse(doc, false)
	if err := checkRefs(doc); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	info := specjson.Obj(doc, "info")
	if info == nil {
		info = specjson.Object{}
		doc["info"] = info
	}
	info["x-pinned-from"] = specjson.Object{
		"source": from.Source,
		"format": format,
		"sha256": hex.EncodeToString(sum[:]),
		"date":   from.Date,
	}
	return doc, nil
}

// pinDate is the date to record for pinning raw into out: the date out
// already records when it was pinned from the same bytes, so pinning an
// unchanged upstream again leaves swagger.json byte-identical; else today.
func pinDate(out string, raw []byte, now time.Time) string {
	today := now.UTC().Format(time.DateOnly)
	old, err := specjson.ReadFile(out)
	if err != nil {
		return today
	}
	from := specjson.Obj(specjson.Obj(old, "info"), "x-pinned-from")
	sum := sha256.Sum256(raw)
	if d := specjson.Str(from, "date"); d != "" && specjson.Str(from, "sha256") == hex.EncodeToString(sum[:]) {
		return d
	}
	return today
}

func fetch(ctx context.Context, src string) ([]byte, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.ReadFile(src)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", src, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}
