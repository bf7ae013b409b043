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

source scripts/lib/npm-server.sh

if port_open "$port"; then
  echo "azurite: something already listens on 127.0.0.1:$port; using it"
  exit 0
fi

npm_install azurite "$tools" azurite-blob "azurite@$version"
data="$(mktemp -d /tmp/lifeline-azurite.XXXXXX)"
echo "azurite: starting azurite-blob on 127.0.0.1:$port (data in $data)"
start_server azurite "$port" "$tools/azurite.pid" "$tools/azurite.log" \
  "$tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$data" \
  --skipApiVersionCheck --loose --silent
