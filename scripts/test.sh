#!/usr/bin/env bash
# The test suite behind `make test`. It installs or starts what the tests need, runs everything and stops
# what it started. Run from the repository root.
set -euo pipefail
export GOTOOLCHAIN=local

echo "== go vet"
go vet ./...

echo "== go test (race)"
# -race doubles run time on 2 cores but catches what matters most in a concurrent service.
go test -race -count=1 -timeout 15m ./...

echo "== fuzz (short, seed corpora committed)"
for target in "FuzzDocument ./ingest/" "FuzzVerify ./auth/" "FuzzSubmitNarrative ./server/"; do
  set -- $target
  go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2"
done
