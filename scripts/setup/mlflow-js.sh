#!/usr/bin/env bash
# Installs the third-party MLflow REST client for Node.js (npm package `mlflow`, MIT) into ./.tools/mlflow-js
# (gitignored) for the registry's compatibility test (tests/Lifeline.Registry.Tests/Compat). Idempotent; starts
# nothing: the test starts our registry on 127.0.0.1 itself and runs the client with node.
# Environment: LIFELINE_MLFLOW_JS_VERSION (default 2.0.7).
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${LIFELINE_MLFLOW_JS_VERSION:-2.0.7}"
tools="$PWD/.tools/mlflow-js"

source scripts/lib/npm-server.sh

if [ -f "$tools/node_modules/mlflow/package.json" ]; then
  echo "mlflow-js: mlflow@$(node -p "require('$tools/node_modules/mlflow/package.json').version" 2>/dev/null || echo '?') already in $tools"
  exit 0
fi

# the package has no executable: npm_install's BIN check never matches, so it installs (guarded above)
npm_install mlflow-js "$tools" mlflow-js-client-has-no-bin "mlflow@$version"
echo "mlflow-js: installed mlflow@$version into $tools"
