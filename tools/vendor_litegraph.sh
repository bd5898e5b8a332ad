#!/usr/bin/env bash
# Vendor @comfyorg/litegraph (MIT) into web/vendor/: npm pack the exact version,
# check the tarball against the registry's sha512 integrity, copy the ES module,
# its CSS and the LICENSE. Re-run after bumping VERSION, then update the hash in
# tests/test_editor_logic.py.
set -euo pipefail
VERSION="${1:-0.17.2}"
PKG="@comfyorg/litegraph@${VERSION}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/web/vendor"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
EXPECTED="$(npm view "$PKG" dist.integrity)"
TARBALL="$(npm pack "$PKG" --silent | tail -n1)"
ACTUAL="sha512-$(openssl dgst -sha512 -binary "$TARBALL" | base64 -w0)"
if [ "$EXPECTED" != "$ACTUAL" ]; then
  echo "integrity mismatch for $PKG: registry $EXPECTED, tarball $ACTUAL" >&2
  exit 1
fi
tar xzf "$TARBALL"
mkdir -p "$DEST"
cp package/dist/litegraph.es.js "$DEST/litegraph.es.js"
cp package/dist/css/litegraph.css "$DEST/litegraph.css"
cp package/LICENSE "$DEST/LICENSE"
printf '%s\n' "litegraph.es.js, litegraph.css and LICENSE come unmodified from the npm package $PKG (MIT), tarball integrity $EXPECTED; refresh with tools/vendor_litegraph.sh." > "$DEST/README.md"
sha256sum "$DEST/litegraph.es.js"
