#!/usr/bin/env bash
# Starts Azurite's Blob service on 127.0.0.1 for the Azure Blob conformance tests (idempotent).
#   Installs the npm package `azurite` into ./.tools/azurite (gitignored) if it is missing, starts
#   azurite-blob in the background with its data in a temporary directory, and waits until the port answers.
# Environment: LIFELINE_AZURITE_PORT (default 10000), LIFELINE_AZURITE_VERSION (default 3.37.0).
# Stop it with: kill "$(cat .tools/azurite/azurite.pid)"
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${LIFELINE_AZURITE_PORT:-10000}"
version="${LIFELINE_AZURITE_VERSION:-3.37.0}"
tools="$PWD/.tools/azurite"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if port_open "$port"; then
  echo "azurite: something already listens on 127.0.0.1:$port; using it"
  exit 0
fi

if [ ! -x "$tools/node_modules/.bin/azurite-blob" ]; then
  command -v npm >/dev/null || { echo "azurite: npm is missing: apt-get install -y nodejs npm" >&2; exit 1; }
  echo "azurite: installing azurite@$version into $tools"
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$version" >"$tools/npm-install.log" 2>&1 \
    || { echo "azurite: npm install failed, see $tools/npm-install.log" >&2; exit 1; }
fi

data="$(mktemp -d /tmp/lifeline-azurite.XXXXXX)"
echo "azurite: starting azurite-blob on 127.0.0.1:$port (data in $data)"
setsid nohup "$tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$data" \
  --skipApiVersionCheck --loose --silent >"$tools/azurite.log" 2>&1 < /dev/null &
echo $! >"$tools/azurite.pid"

deadline=$((SECONDS + 60))
until port_open "$port"; do
  if ! kill -0 "$(cat "$tools/azurite.pid")" 2>/dev/null; then
    echo "azurite: exited during start-up, see $tools/azurite.log" >&2; exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "azurite: not answering on 127.0.0.1:$port after 60 s, see $tools/azurite.log" >&2; exit 1
  fi
  sleep 0.2
done
echo "azurite: ready on 127.0.0.1:$port (pid $(cat "$tools/azurite.pid"))"
