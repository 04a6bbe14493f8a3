#!/usr/bin/env bash
# The test suite behind `make test`. It installs or starts what the tests need, runs everything and stops
# what it started. Run from the repository root.
set -euo pipefail
export GOTOOLCHAIN=local

# apt-get update at most once per run, and only when something must be installed.
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Tests start their own throwaway redis-server processes (internal/redistest); install it when missing.
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "== installing redis-server (Debian)"
  apt_install redis-server
fi

# The dashboard's browser tests (web/webtest) drive Debian's Chromium; ~150 s and ~480 MB the first time.
if [ ! -x /usr/bin/chromium ]; then
  echo "== installing chromium (Debian)"
  apt_install chromium
fi

echo "== go vet"
go vet ./...

echo "== go test (race)"
# -race doubles run time on 2 cores but catches what matters most in a concurrent service.
go test -race -count=1 -timeout 15m ./...

# FAISS (vector.backend faiss) is a native library behind the build tag `faiss`: install it (idempotent:
# ~50 s the first time, instant after), then vet and test what the tag compiles. In cmd/cns only the FAISS
# end-to-end tests run again; the rest of the package ran above.
echo "== FAISS: install, then tests with -tags faiss"
bash scripts/install-faiss.sh
go vet -tags faiss ./vector/... ./cmd/cns/
go test -race -count=1 -tags faiss -timeout 10m ./vector/faiss/
go test -race -count=1 -tags faiss -timeout 10m -run 'Faiss' ./cmd/cns/

# Deployment (make deploy-check): installs ansible-core, ansible-lint, systemd when missing, then lints and
# runs the playbooks into a staging root, verifies and starts the rendered units, checks the Docker files.
bash infrastructure/deploytest/deploy-check.sh

# The benchmark harness (bench/, its own module) once at tiny sizes, so it never rots: every system of
# `make bench` (Celery included, installed when missing) runs and the report is written, in about a minute.
echo "== bench smoke"
bash scripts/bench-deps.sh
bench_out=$(mktemp -d)
(cd bench && go vet ./... && go run . -smoke -out "$bench_out/benchmarks.md" -svg "$bench_out/bench" >/dev/null)
rm -rf "$bench_out"

echo "== fuzz (short, seed corpora committed)"
for target in "FuzzDocument ./ingest/" "FuzzVerify ./auth/" "FuzzSubmitNarrative ./server/"; do
  set -- $target
  go test -run '^$' -fuzz "^$1\$" -fuzztime "${FUZZTIME:-10s}" "$2"
done
