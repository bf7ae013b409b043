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

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open "$port"; then
  echo "s3: something already listens on 127.0.0.1:$port; using it"
  exit 0
fi

if [ ! -x "$tools/node_modules/.bin/s3rver" ]; then
  command -v npm >/dev/null || { echo "s3: npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
  echo "s3: installing s3rver@$version into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "s3rver@$version" >"$tools/npm-install.log" 2>&1 \
    || { echo "s3: npm install failed, see $tools/npm-install.log" >&2; exit 1; }
fi

data="$(mktemp -d /tmp/lifeline-s3rver.XXXXXX)"
echo "s3: starting s3rver on 127.0.0.1:$port (data in $data)"
setsid nohup "$tools/node_modules/.bin/s3rver" --directory "$data" --address 127.0.0.1 --port "$port" --silent \
  --no-vhost-buckets >"$tools/s3rver.log" 2>&1 < /dev/null &
echo $! >"$tools/s3rver.pid"

deadline=$((SECONDS + 60))
until port_open "$port"; do
  if ! kill -0 "$(cat "$tools/s3rver.pid")" 2>/dev/null; then
    echo "s3: s3rver exited during start-up, see $tools/s3rver.log" >&2; exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "s3: not answering on 127.0.0.1:$port after 60 s, see $tools/s3rver.log" >&2; exit 1
  fi
  sleep 0.2
done
echo "s3: ready on 127.0.0.1:$port (pid $(cat "$tools/s3rver.pid"))"
