#!/usr/bin/env bash
# Regenerates client/ and models/ from swagger.json: applies the operation
# facts, fix-ups and project docs (cmd/fixspec), then runs the pinned
# go-swagger with the project's client templates (templates/, client.yaml).
# The target folder (default: the repository root) must hold a go.mod
# naming the module.
#   bash gen/generate.sh [TARGET]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=$(cd "${1:-$root}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root/gen"
go run ./cmd/fixspec -in "$root/swagger.json" -docs docs -facts facts.yaml -out "$work/swagger.fixed.json"
rm -rf "$target/client" "$target/models"
# The fixed spec is validated by gen's tests; validating again here would only
# slow generation down (see gen/internal/fixup/validate_test.go).
# gen/templates replaces some of go-swagger's templates (see its README);
# they override built-in ones, hence --allow-template-override.
go tool swagger generate client -q \
  -f "$work/swagger.fixed.json" -t "$target" -A machines-api \
  --config-file client.yaml \
  --skip-validation --with-custom-formatter \
  --template-dir "$root/gen/templates" --allow-template-override

