#!/usr/bin/env bash
# Installs FAISS for the `faiss` build tag: Debian's libfaiss-dev (static libfaiss.a and the C API headers)
# and libopenblas-dev, then builds the C API objects Debian does not ship into /usr/local/lib/libfaiss_c.a
# from the Debian source package of the same version, so headers, library and C API always match.
#
# Idempotent: a no-op when libfaiss.a, the C API headers and /usr/local/lib/libfaiss_c.a are present (about
# 50 s from scratch on 2 cores). The source package comes through a private deb-src list that reuses this
# machine's own Debian mirror entry; the system's apt sources are never edited. Needs root (apt-get).
#
# Environment: PREFIX (default /usr/local), FORCE=1 rebuilds libfaiss_c.a even when present.
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
LIB="$PREFIX/lib/libfaiss_c.a"
# The stamp records how libfaiss_c.a was built; a different recipe (e.g. new flags) rebuilds it.
STAMP="$PREFIX/lib/libfaiss_c.stamp"
# -DNDEBUG: without it the C API prints every caught exception to stderr; errors are returned anyway and
# read through faiss_get_last_error.
CXXFLAGS="-std=c++17 -O2 -fPIC -fopenmp -DNDEBUG"
RECIPE="faiss-c-api 1 $CXXFLAGS"
HEADER=/usr/include/faiss/c_api/faiss_c.h
STATIC=/usr/lib/x86_64-linux-gnu/libfaiss.a

say() { echo "install-faiss: $*"; }

installed() {
  [[ -f "$LIB" && -f "$HEADER" && -f "$STAMP" ]] || return 1
  [[ "$(cat "$STAMP")" == "$RECIPE $(dpkg-query -W -f='${Version}' libfaiss-dev 2>/dev/null)" ]] || return 1
  # The static FAISS library's path is multiarch; accept any architecture directory.
  compgen -G "/usr/lib/*/libfaiss.a" >/dev/null || [[ -f "$STATIC" ]] || return 1
  compgen -G "/usr/lib/*/libopenblas.so" >/dev/null || compgen -G "/usr/lib/*/libopenblas.a" >/dev/null
}

if [[ "${FORCE:-0}" != 1 ]] && installed; then
  say "already installed ($LIB)"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# 1. The library, headers and BLAS from Debian. Refresh the package lists only when needed, so a machine
#    with fresh lists does not pay for an update.
pkgs=(libfaiss-dev libopenblas-dev g++ ca-certificates)
if ! $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"; then
  say "apt-get install failed; updating the package lists and retrying"
  $SUDO apt-get update
  $SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"
fi

version=$(dpkg-query -W -f='${source:Version}' libfaiss-dev)
say "libfaiss-dev source version $version"

# 2. A private deb-src source list built from this machine's Debian entries (deb822 or one-line format).
work=$(mktemp -d /tmp/cns-faiss.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  # deb822: keep every stanza, turning its Types into deb-src.
  sed -E 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$work/sources/cns-src.sources"
else
  grep -hE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -E 's/^deb[[:space:]]/deb-src /' >"$work/sources/cns-src.list" || true
  if [[ ! -s "$work/sources/cns-src.list" ]]; then
    say "no Debian apt source found to derive a deb-src entry from" >&2
    exit 1
  fi
fi
apt_private=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$work/sources"
  -o Dir::State::Lists="$work/lists" -o Dir::Cache="$work/cache" -o APT::Sandbox::User=root)
say "fetching the faiss $version source package"
apt-get "${apt_private[@]}" update -qq
(cd "$work/src" && apt-get "${apt_private[@]}" source --download-only "faiss=$version")

# 3. Unpack the upstream tarball (the C API is upstream code; Debian's patches only touch the build).
orig=$(compgen -G "$work/src/faiss_*.orig.tar.*" | head -n1)
if [[ -z "$orig" ]]; then
  say "the source package has no .orig tarball" >&2
  exit 1
fi
tar -xf "$orig" -C "$work/src"
srcdir=$(find "$work/src" -mindepth 2 -maxdepth 2 -type d -name c_api -printf '%h\n' | head -n1)
if [[ -z "$srcdir" ]]; then
  say "no c_api directory in $orig" >&2
  exit 1
fi

# 4. Compile the C API objects (in parallel) and archive them.
say "compiling the C API in $srcdir"
mkdir -p "$work/obj"
(cd "$srcdir" && ls c_api/*.cpp c_api/impl/*.cpp c_api/utils/*.cpp) |
  xargs -P "$(nproc)" -I{} sh -c 'cd "$1" && g++ $4 -I. -c "$2" -o "$3/$(echo "$2" | tr / _).o"' _ "$srcdir" {} "$work/obj" "$CXXFLAGS"
$SUDO mkdir -p "$PREFIX/lib"
rm -f "$work/libfaiss_c.a"
ar rcs "$work/libfaiss_c.a" "$work"/obj/*.o
# Install atomically: a concurrent build never links a half-written archive.
$SUDO install -m 0644 "$work/libfaiss_c.a" "$LIB.tmp.$$"
$SUDO mv -f "$LIB.tmp.$$" "$LIB"
echo "$RECIPE $(dpkg-query -W -f='${Version}' libfaiss-dev)" | $SUDO tee "$STAMP" >/dev/null
say "installed $LIB ($(ls "$work"/obj/*.o | wc -l) objects)"
