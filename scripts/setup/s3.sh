#!/usr/bin/env bash
# Starts a local S3-compatible server on 127.0.0.1 for the S3 conformance tests (idempotent).
#   The server is s3rver (npm), the only S3 server installable here from npm or Debian that runs without a cluster;
#   it does NOT honour conditional writes (If-None-Match on PUT) and writes objects in place: see docs/storage.md.
#   Installs it into ./.tools/s3rver (gitignored) if missing, starts it in the background with its data in a
#   temporary directory, and waits until the port answers. Credentials are s3rver's fixed S3RVER/S3RVER.
# Environment: LIFELINE_S3_PORT (default 10050), LIFELINE_S3RVER_VERSION (default 3.7.1).
# Stop it with: kill "$(cat .tools/s3rver/s3rver.pid)"
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${LIFELINE_S3_PORT:-10050}"
version="${LIFELINE_S3RVER_VERSION:-3.7.1}"
tools="$PWD/.tools/s3rver"

source scripts/lib/npm-server.sh

if port_open "$port"; then
  echo "s3: something already listens on 127.0.0.1:$port; using it"
  exit 0
fi

npm_install s3 "$tools" s3rver "s3rver@$version"
data="$(mktemp -d /tmp/lifeline-s3rver.XXXXXX)"
echo "s3: starting s3rver on 127.0.0.1:$port (data in $data)"
start_server s3 "$port" "$tools/s3rver.pid" "$tools/s3rver.log" \
  "$tools/node_modules/.bin/s3rver" --directory "$data" --address 127.0.0.1 --port "$port" --silent --no-vhost-buckets
