#!/bin/sh
# Fetches the official SARIF 2.1.0 JSON schema (from the npm package
# @microsoft/jest-sarif, which ships sarif-2.1.0-rtm.5.json) into a cache
# directory, for the SARIF validation test. Not committed: it is a download.
#
# Usage: scripts/fetch-sarif-schema.sh [BUILD_DIR]   (default: build)
# Writes BUILD_DIR/sarif-schema/sarif-schema.json; does nothing when present.
set -eu
build_dir=${1:-build}
dest_dir="$build_dir/sarif-schema"
dest="$dest_dir/sarif-schema.json"
if [ -s "$dest" ]; then
  echo "fetch-sarif-schema: $dest already present"
  exit 0
fi
mkdir -p "$dest_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null)
tar -xzf "$tmp"/microsoft-jest-sarif-1.0.0-beta.0.tgz -C "$tmp" package/lib/schemas/sarif-2.1.0-rtm.5.json
# Refuse anything that is not the SARIF 2.1.0 schema.
grep -q '"\$schema"' "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json"
grep -q 'sarif-2.1.0' "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json"
cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "fetch-sarif-schema: wrote $dest"
