# SPEC is the upstream description `make spec` pins: a URL or a file path.
SPEC ?= https://docs.machines.dev/spec/openapi3.json
spec_src = $(if $(findstring ://,$(SPEC)),$(SPEC),$(abspath $(SPEC)))

.PHONY: all spec spec-check generate validate test test-gen demo emulator

all: generate test

## spec: pin SPEC (OpenAPI 3 or Swagger 2.0) as swagger.json, prose dropped.
spec:
	cd gen && go run ./cmd/pinspec -src '$(spec_src)' -as '$(SPEC)' -out ../swagger.json

## spec-check: pin SPEC into memory and name what moved since swagger.json
## was pinned (exit 1 if anything did); writes nothing.
spec-check:
	cd gen && go run ./cmd/pinspec -check -src '$(spec_src)' -as '$(SPEC)' -out ../swagger.json

## generate: rebuild client/ and models/ from swagger.json (also: go generate ./...).
generate:
	bash gen/generate.sh
	go mod tidy

## validate: run `swagger validate` on the fixed spec the generator reads.
validate:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd gen && \
	  go run ./cmd/fixspec -in ../swagger.json -docs docs -facts facts.yaml -out "$$tmp/swagger.fixed.json" && \
	  go tool swagger validate "$$tmp/swagger.fixed.json"

## test: gen's checks first (the pinned spec, fix-ups, facts and docs: a
## spec problem is reported before anything built from it), then every test
## of the library (the drift check and the tidiness of the three modules
## included) and the conformance suite (the emulator driven by Fly's own Go
## client).
test:
	cd gen && go vet ./... && go test -count=1 ./...
	go vet ./...
	go test -race -count=1 ./...
	cd conformance && go vet ./... && go test -race -count=1 ./...

## demo: the first command of the README, on the embedded emulator.
demo:
	go run ./cmd/flymachines demo

## emulator: serve the Machines API emulator on 127.0.0.1:4280.
emulator:
	go run ./cmd/flymachines emulator
